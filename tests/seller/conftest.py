"""Orders placed in the sandbox's Kaspi and synced the real way, and their outbox rows written
against the sandbox's OpenAI stand-in."""

import pytest

from kaspi_sync.models import Order
from kaspi_sync.sync import sync_shop
from messaging.models import OutboundMessage

from .helpers import HEADPHONES


@pytest.fixture
def place_order(sandbox, shop):
    """Place an order in the sandbox, sync it, return our Order (its POST_PURCHASE row exists)."""

    def place(**fields):
        fields.setdefault("status", "APPROVED_BY_BANK")
        fields.setdefault("phone", "7011234567")
        fields.setdefault("first_name", "Айгерим")
        fields.setdefault("items", [{"product_code": HEADPHONES, "quantity": 1}])
        created = sandbox.control("kaspi/orders", token=shop.kaspi_token, **fields)
        sync_shop(shop, days=3)
        return Order.objects.get(shop=shop, code=created["code"])

    return place


@pytest.fixture
def deliver(sandbox, shop):
    """Kaspi completes the order; the sync creates its ORDER_DELIVERED row."""

    def deliver(order):
        sandbox.control(f"kaspi/orders/{order.code}/status", status="COMPLETED")
        sync_shop(shop, days=3)
        return OutboundMessage.objects.get(order=order, trigger="ORDER_DELIVERED")

    return deliver


@pytest.fixture
def row_for():
    def row_for(order, trigger="POST_PURCHASE"):
        return OutboundMessage.objects.get(order=order, trigger=trigger)

    return row_for

