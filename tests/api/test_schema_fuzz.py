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
    other = Shop.objects.create(name="Other Shop", kaspi_token="kaspi-token-fuzz-2")
    Order.objects.create(shop=other, kaspi_id="FUZZ2", code="2", state="delivered", created_at_kaspi=timezone.now(),
                         customer_phone="+77021234567")
    return shop


@pytest.fixture(params=["viewer of one shop", "operator of one shop", "metrics", "staff without permissions"])
def limited_token(request, some_data, django_user_model):
    """Users whose answers are 403s and 404s as often as not: those must match the schema too."""
    from django.apps import apps
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from access import roles
    from access.models import ShopAccess

    roles.sync_groups(apps)
    user = django_user_model.objects.create_user("limited", password="x", is_staff=True)
    role = {"viewer of one shop": roles.VIEWER, "operator of one shop": roles.OPERATOR, "metrics": roles.METRICS}
    if request.param in role:
        user.groups.add(Group.objects.get(name=role[request.param]))
    if "one shop" in request.param:
        ShopAccess.objects.create(user=user, shop=some_data)
    return Token.objects.create(user=user).key


@schema.exclude(path="/ai-seller/status").parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_every_generated_request_as_its_schema_says(case, admin_token, some_data, in_process_app):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"})


@schema.exclude(path="/ai-seller/status").parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_users_of_limited_rights_as_its_schema_says(case, limited_token, in_process_app):
    case.call_and_validate(headers={"Authorization": f"Token {limited_token}"})


@schema.include(path="/ai-seller/status").parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_status_answers_as_its_schema_says(case, admin_token, some_data, in_process_app):
    """Apart: each status call waits up to a second for workers to answer a ping."""
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"})
