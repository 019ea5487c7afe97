"""Orders credited to the message before them, and the attribution figures on the metrics."""

from datetime import timedelta

from django.test import Client

from kaspi_sync.models import Order, Shop
from seller.attribution import attribute_orders

from .conftest import order, sent

PHONE, OTHER = "+77011234567", "+77021234567"


def test_an_order_is_credited_to_the_last_message_delivered_within_the_window(shop, now, settings):
    settings.SELLER_ATTRIBUTION_DAYS = 7
    first = sent(shop, PHONE, now - timedelta(days=6))
    last = sent(shop, PHONE, now - timedelta(days=3), trigger="ORDER_DELIVERED")
    again = order(shop, PHONE, now - timedelta(days=1))
    too_late = order(shop, OTHER, now - timedelta(hours=2))
    sent(shop, OTHER, now - timedelta(days=9))  # delivered nine days before: outside the window
    elsewhere = order(Shop.objects.create(name="Kitchen KZ", kaspi_token="kaspi-other-01"), PHONE, now)

    assert attribute_orders(now) == 2
    assert attribute_orders(now) == 0  # nothing twice

    for placed in (again, too_late, elsewhere, first.order, last.order):
        placed.refresh_from_db()
    assert again.attributed_to == last
    assert last.order.attributed_to == first  # placed three days after the first message
    assert first.order.attributed_to is None  # a message's own order came before it
    assert too_late.attributed_to is None and elsewhere.attributed_to is None


def test_a_message_sent_without_an_ack_counts_from_its_sending(shop, now):
    message = sent(shop, PHONE, now - timedelta(hours=5), delivered_after=None)
    bought = order(shop, PHONE, now - timedelta(hours=1))

    attribute_orders(now)

    bought.refresh_from_db()
    assert bought.attributed_to == message


def test_an_order_before_the_delivery_is_not_credited(shop, now):
    sent(shop, PHONE, now - timedelta(hours=2), delivered_after=timedelta(hours=1))
    bought = order(shop, PHONE, now - timedelta(hours=1, minutes=30))  # sent, but not yet delivered

    attribute_orders(now)

    bought.refresh_from_db()
    assert bought.attributed_to is None


def test_the_metrics_count_attributed_orders_but_not_cancelled_or_returned_ones(api, shop, now):
    message = sent(shop, PHONE, now - timedelta(days=2), trigger="ORDER_DELIVERED", variant="short")
    order(shop, PHONE, now - timedelta(days=1), total=25_000)
    order(shop, PHONE, now - timedelta(hours=20), total=5_000, state=Order.State.CANCELLED)
    order(shop, PHONE, now - timedelta(hours=10), total=7_000, state=Order.State.RETURNED)
    attribute_orders(now)
    assert Order.objects.filter(attributed_to=message).count() == 3

    figures = api.get("/ai-seller/metrics").json()

    assert figures["attribution"] == {"window_days": 7.0, "orders": 1, "revenue": 25_000.0}
    by_trigger = {t["trigger"]: t["attribution"] for t in figures["by_trigger"]}
    assert by_trigger["ORDER_DELIVERED"]["orders"] == 1
    assert [(v["trigger"], v["variant"], v["attribution"]["revenue"]) for v in figures["by_variant"]] == [
        ("ORDER_DELIVERED", "short", 25_000.0)]
    assert [s["attribution"]["orders"] for s in figures["by_shop"]] == [1]
    assert sum(d["attribution"]["revenue"] for d in figures["by_day"]) == 25_000.0


def test_the_admin_shows_the_message_an_order_is_credited_to(shop, now, django_user_model):
    message = sent(shop, PHONE, now - timedelta(days=2))
    bought = order(shop, PHONE, now - timedelta(days=1))
    attribute_orders(now)
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.kz", "pw"))

    page = client.get(f"/admin/kaspi_sync/order/{bought.pk}/change/").content.decode()
    listing = client.get("/admin/kaspi_sync/order/").content.decode()

    assert f"/admin/messaging/outboundmessage/{message.pk}/change/" in page
    assert "Credited to" in listing
