"""`POST /ai-seller/trigger-delivered/<order_id>`: ORDER_DELIVERED by hand, once."""

import pytest

from kaspi_sync.models import Order, Shop
from kaspi_sync.tasks import sync_all_shops
from messaging.models import OutboundMessage

from ..helpers import wait_until


@pytest.mark.django_db(transaction=True)
def test_the_review_request_fired_by_hand_reaches_the_customer(sandbox, shop, celery_worker, api):
    shop.cooldown_hours = 0  # the review request follows the thank-you at once here
    shop.save()
    order = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7011234567", first_name="Данияр")
    sync_all_shops.delay()
    wait_until(lambda: OutboundMessage.objects.filter(order__code=order["code"], status="sent").exists(),
               what="the thank-you message")

    response = api.post(f"/ai-seller/trigger-delivered/{order['code']}")

    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["order_code"], body["shop_id"]) == (True, order["code"], shop.pk)
    row = wait_until(lambda: OutboundMessage.objects.filter(pk=body["outbox_id"], status="sent").first(),
                     what="the review request")
    assert row.trigger == "ORDER_DELIVERED"
    assert "https://kaspi.kz/shop/review/productreview?orderCode=" + order["code"] in row.text
    assert [m["text"] for m in sandbox.sent("77011234567@c.us")][-1] == row.text


@pytest.fixture
def order(db):
    from django.utils import timezone

    shop = Shop.objects.create(name="Tech Store Almaty", kaspi_token="kaspi-token-trigger-1")
    return Order.objects.create(shop=shop, kaspi_id="MTAwMjM0NTY3OA", code="601234567", state="delivered",
                                created_at_kaspi=timezone.now(), customer_phone="+77011234567")


def test_a_second_call_changes_nothing(api, order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as started:
        first = api.post(f"/ai-seller/trigger-delivered/{order.code}")
        second = api.post(f"/ai-seller/trigger-delivered/{order.kaspi_id}")

    assert (first.status_code, second.status_code) == (201, 200)
    assert (first.json()["created"], second.json()["created"]) == (True, False)
    assert first.json()["outbox_id"] == second.json()["outbox_id"]
    assert OutboundMessage.objects.filter(order=order, trigger="ORDER_DELIVERED").count() == 1
    assert len(started) == 1  # one pipeline, for the one row


def test_an_unknown_order_is_a_json_404(api, order):
    response = api.post("/ai-seller/trigger-delivered/nope-123")

    assert response.status_code == 404
    assert response.json() == {"detail": "no order with the Kaspi id or code 'nope-123'"}


def test_a_cancelled_order_gets_nothing(api, order):
    Order.objects.filter(pk=order.pk).update(state="cancelled")

    response = api.post(f"/ai-seller/trigger-delivered/{order.code}")

    assert response.status_code == 409
    assert "cancelled" in response.json()["detail"]
    assert not OutboundMessage.objects.exists()


def test_a_shop_that_turned_the_trigger_off_gets_nothing(api, order):
    Shop.objects.filter(pk=order.shop_id).update(order_delivered_enabled=False)

    response = api.post(f"/ai-seller/trigger-delivered/{order.code}")

    assert response.status_code == 409
    assert response.json() == {"detail": f"ORDER_DELIVERED is turned off for shop {order.shop_id}"}
    assert not OutboundMessage.objects.exists()


def test_a_code_two_shops_share_asks_for_the_kaspi_id(api, order):
    other = Shop.objects.create(name="Other", kaspi_token="kaspi-token-trigger-2")
    Order.objects.create(shop=other, kaspi_id="OTHER1", code=order.code, created_at_kaspi=order.created_at_kaspi)

    response = api.post(f"/ai-seller/trigger-delivered/{order.code}")

    assert response.status_code == 409
    assert api.post(f"/ai-seller/trigger-delivered/{order.kaspi_id}").status_code == 201
