"""Every endpoint of the API: refused without a token, refused to non-staff, answered to an admin."""

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kaspi_sync.models import Order, Shop

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/ai-seller/metrics"),
    ("post", "/ai-seller/reset-metrics"),
    ("post", "/ai-seller/trigger-delivered/{code}"),
    ("get", "/ai-seller/status"),
    ("get", "/ai-seller/handoffs"),
    ("get", "/kaspi/get_sells_info/{shop}"),
    ("get", "/metrics"),
]


@pytest.fixture
def an_order(sandbox):
    shop = Shop.objects.create(name="Аружан Маркет", kaspi_token="kaspi-token-auth-01")
    from django.utils import timezone

    return Order.objects.create(shop=shop, kaspi_id="ODc1MjM0", code="512345678", state="delivered",
                                created_at_kaspi=timezone.now(), customer_phone="+77011112233")


def url(template, order):
    return template.format(code=order.code, shop=order.shop_id)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_it_refuses_a_request_without_a_token(method, path, an_order):
    response = getattr(APIClient(), method)(url(path, an_order))

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_it_refuses_a_wrong_token(method, path, an_order):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    response = getattr(client, method)(url(path, an_order))

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_it_refuses_a_user_who_is_not_staff(method, path, an_order, django_user_model):
    user = django_user_model.objects.create_user("merchant", password="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    response = getattr(client, method)(url(path, an_order))

    assert response.status_code == 403
    assert "detail" in response.json()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_it_answers_an_admin_with_a_token(method, path, an_order, api):
    response = getattr(api, method)(url(path, an_order))

    assert response.status_code in (200, 201), response.content[:300]


def test_a_token_made_with_drf_create_token_opens_the_api(django_user_model, capsys):
    django_user_model.objects.create_superuser("night-operator", "n@example.kz", "pw")

    call_command("drf_create_token", "night-operator")

    key = Token.objects.get(user__username="night-operator").key
    assert key in capsys.readouterr().out
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/ai-seller/metrics").status_code == 200


def test_an_unknown_api_path_answers_json(api):
    response = api.get("/ai-seller/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_schema_and_its_docs_are_served_without_a_cdn(client, admin_token):
    schema = client.get("/api/schema/", headers={"Authorization": f"Token {admin_token}"})
    docs = client.get("/api/docs/", headers={"Authorization": f"Token {admin_token}"})

    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/ai-seller/metrics", "/ai-seller/reset-metrics", "/ai-seller/trigger-delivered/{order_id}",
                 "/ai-seller/status", "/ai-seller/handoffs", "/kaspi/get_sells_info/{shop_id}", "/metrics"):
        assert f"{path}:" in text
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower() and "https://" not in page
