import pytest

from kaspi_sync.client import KaspiAuthError
from kaspi_sync.models import Order, OrderEntry, Product, Shop
from kaspi_sync.sync import sync_shop
from messaging.models import OutboundMessage


def new_order(sandbox, shop, status="APPROVED_BY_BANK", **fields):
    return sandbox.control("kaspi/orders", token=shop.kaspi_token, status=status, **fields)


def test_it_syncs_the_sandbox_shops_orders_with_customers_and_items(sandbox, shop):
    first = new_order(sandbox, shop, phone="7011234567", first_name="Айгерим")
    new_order(sandbox, shop, status="ACCEPTED_BY_MERCHANT")

    summary = sync_shop(shop, days=3)

    assert (summary.seen, summary.new, summary.triggers) == (2, 2, 2)
    order = Order.objects.get(shop=shop, code=first["code"])
    assert order.customer_first_name == "Айгерим"
    assert order.customer_phone == "+77011234567"
    assert order.state == Order.State.NEW
    assert OrderEntry.objects.filter(order=order).exists()
    assert Product.objects.filter(shop=shop).exists()
    assert set(OutboundMessage.objects.values_list("trigger", flat=True)) == {"POST_PURCHASE"}


def test_a_repeated_sync_creates_nothing_twice(sandbox, shop):
    new_order(sandbox, shop)
    sync_shop(shop, days=3)
    again = sync_shop(shop, days=3)
    assert (again.seen, again.new, again.triggers) == (1, 0, 0)
    assert Order.objects.count() == 1 and OutboundMessage.objects.count() == 1


def test_an_order_completed_later_gets_its_delivered_trigger_and_keeps_its_phone(sandbox, shop):
    created = new_order(sandbox, shop, phone="7771234567")
    sync_shop(shop, days=3)
    sandbox.control(f"kaspi/orders/{created['code']}/status", status="COMPLETED")

    summary = sync_shop(shop, days=3)

    order = Order.objects.get(code=created["code"])
    assert summary.updated == 1 and summary.triggers == 1
    assert order.state == Order.State.DELIVERED and order.delivered_at
    assert order.customer_phone == "+77771234567"  # Kaspi masks it on finished orders
    assert set(order.messages.values_list("trigger", flat=True)) == {"POST_PURCHASE", "ORDER_DELIVERED"}


def test_a_cancelled_order_cancels_its_waiting_message(sandbox, shop):
    created = new_order(sandbox, shop)
    sync_shop(shop, days=3)
    sandbox.control(f"kaspi/orders/{created['code']}/status", status="CANCELLED")
    sync_shop(shop, days=3)
    message = OutboundMessage.objects.get(order__code=created["code"])
    assert (message.status, message.reason) == ("cancelled", "order_cancelled")


def test_a_rejected_token_marks_the_shop_and_raises(sandbox, db):
    shop = Shop.objects.create(name="Old token", kaspi_token="no-such-token-000")
    with pytest.raises(KaspiAuthError):
        sync_shop(shop, days=1)
    shop.refresh_from_db()
    assert shop.token_status == Shop.TokenStatus.REJECTED
    assert "no-such-token" not in shop.last_sync_error
