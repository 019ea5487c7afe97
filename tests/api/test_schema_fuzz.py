"""The OpenAPI schema, fuzzed with schemathesis against the app in-process: no 5xx, and every
answer as the schema says (status codes, content types, bodies)."""

import json

import pytest
import schemathesis
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings

from config.wsgi import application
from kaspi_sync.models import Order, Shop

# The schema `/api/schema/` serves, built by the same generator (loading it over HTTP would
# need a token, hence the database, at import time).
schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True))))
schema.app = application


@pytest.fixture
def in_process_app():
    """The WSGI app closes the database connection after each request; inside a test
    transaction it must not (Django's own test client does the same)."""
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def some_data(db):
    shop = Shop.objects.create(name="Fuzz Shop", kaspi_token="kaspi-token-fuzz-1")
    Order.objects.create(shop=shop, kaspi_id="FUZZ1", code="1", state="delivered", created_at_kaspi=timezone.now(),
                         customer_phone="+77011234567")


@schema.exclude(path="/ai-seller/status").parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_every_generated_request_as_its_schema_says(case, admin_token, some_data, in_process_app):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"})


@schema.include(path="/ai-seller/status").parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_status_answers_as_its_schema_says(case, admin_token, some_data, in_process_app):
    """Apart: each status call waits up to a second for workers to answer a ping."""
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"})
