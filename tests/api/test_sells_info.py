"""`GET /kaspi/get_sells_info/<shop_id>`: recent orders, sales totals, each order's messages."""

import time
from decimal import Decimal

import pytest

from kaspi_sync.models import Order
from kaspi_sync.sync import sync_shop
from messaging.models import OutboundMessage


@pytest.mark.django_db
def test_it_lists_the_shops_orders_with_their_messages_and_totals(sandbox, shop, api, django_capture_on_commit_callbacks):
    a_minute_ago = int(time.time() * 1000) - 60_000  # the sync reads up to the millisecond before it started
    placed = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7011234567", created_ms=a_minute_ago,
                             items=[{"name": "Чайник Tefal", "price": 15990, "quantity": 2}])
    delivered = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7021234567", status="COMPLETED",
                                created_ms=a_minute_ago, items=[{"name": "Утюг Philips", "price": 24990, "quantity": 1}])
    cancelled = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7051234567", status="CANCELLED",
                                created_ms=a_minute_ago, items=[{"name": "Фен Dyson", "price": 199990, "quantity": 1}])
    with django_capture_on_commit_callbacks():  # the pipelines are not started: no worker here
        sync_shop(shop)
    OutboundMessage.objects.filter(order__code=placed["code"]).update(status="sent", reason="")

    response = api.get(f"/kaspi/get_sells_info/{shop.pk}")

    assert response.status_code == 200
    info = response.json()
    assert (info["shop_id"], info["shop_name"]) == (shop.pk, "Tech Store Almaty")
    totals = info["totals"]
    assert (totals["orders"], totals["sold_orders"], totals["items_sold"]) == (3, 2, 3)
    assert Decimal(totals["revenue"]) == Decimal(placed["total_price"]) + Decimal(delivered["total_price"])
    assert totals["by_state"] == {"new": 1, "delivered": 1, "cancelled": 1}
    orders = {order["code"]: order for order in info["orders"]}
    assert set(orders) == {placed["code"], delivered["code"], cancelled["code"]}
    assert [(m["trigger"], m["status"]) for m in orders[placed["code"]]["messages"]] == [("POST_PURCHASE", "sent")]
    assert orders[cancelled["code"]]["messages"] == []
    assert orders[placed["code"]]["customer_phone"] == "***67"
    assert "7011234567" not in response.content.decode()
    assert orders[placed["code"]]["entries"][0]["name"] == "Чайник Tefal"


def test_limit_and_days_narrow_the_list(sandbox, shop, api):
    a_minute_ago = int(time.time() * 1000) - 60_000  # the sync reads up to the millisecond before it started
    for phone in ("7011234567", "7021234567"):
        sandbox.control("kaspi/orders", token=shop.kaspi_token, phone=phone, created_ms=a_minute_ago)
    sync_shop(shop)

    info = api.get(f"/kaspi/get_sells_info/{shop.pk}?limit=1").json()

    assert len(info["orders"]) == 1 and info["totals"]["orders"] == 2
    Order.objects.update(created_at_kaspi="2020-01-01T00:00:00Z")
    assert api.get(f"/kaspi/get_sells_info/{shop.pk}?days=7").json()["totals"]["orders"] == 0


def test_an_unknown_shop_is_a_json_404(api, db):
    response = api.get("/kaspi/get_sells_info/424242")

    assert response.status_code == 404
    assert "detail" in response.json()


def test_a_bad_limit_is_a_json_400(api, shop):
    response = api.get(f"/kaspi/get_sells_info/{shop.pk}?limit=-1")

    assert response.status_code == 400
    assert list(response.json()) == ["limit"]
