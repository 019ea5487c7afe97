"""What the sync makes of Kaspi's orders: our orders, items, catalogue and triggers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kaspi_sync.models import Order, OrderEntry, Product
from messaging.models import OutboundMessage
from seller.prompts import review_link

from .conftest import DAY_MS


def outbox(code: str) -> dict:
    return dict(OutboundMessage.objects.filter(order__code=code).values_list("trigger", "status"))


def test_it_syncs_orders_with_their_customers_and_items(kaspi):
    first = kaspi.order(phone="7011234567", first_name="Айгерим", items=[{"product_code": "106363023", "quantity": 2}])
    kaspi.order(status="ACCEPTED_BY_MERCHANT")

    summary = kaspi.sync(days=3)

    assert (summary.seen, summary.new, summary.updated, summary.triggers) == (2, 2, 0, 2)
    order = Order.objects.get(shop=kaspi.shop, code=first["code"])
    assert (order.customer_first_name, order.customer_phone, order.state) == ("Айгерим", "+77011234567", "new")
    entry = OrderEntry.objects.get(order=order)
    assert (entry.name, entry.quantity, entry.base_price, entry.category_title) == (
        "Apple AirPods Pro 2 белый", 2, 119990, "Наушники")
    assert set(OutboundMessage.objects.values_list("trigger", flat=True)) == {"POST_PURCHASE"}


def test_the_product_code_is_kaspis_own_and_is_asked_for_once_per_product(synced):
    orders = [synced.order(items=[{"product_code": "100812766", "quantity": 1}]) for _ in range(3)]
    synced.sync()
    synced.order(items=[{"product_code": "100812766", "quantity": 1}])
    synced.sync()

    product = Product.objects.get(shop=synced.shop, code="100812766")
    assert product.url == "https://kaspi.kz/shop/p/-100812766/"
    assert (product.name, product.times_sold, product.category_title) == ("LEGO Classic 11717 Кубики и колёса", 4, "Конструкторы")
    order = Order.objects.get(code=orders[0]["code"])
    assert review_link(order) == (
        f"https://kaspi.kz/shop/review/productreview?orderCode={order.code}&productCode=100812766&rating=5")
    assert len(synced.requests("/product")) == 1


def test_a_product_saved_under_its_opaque_id_by_an_older_sync_gets_its_real_code(synced):
    opaque = "cHJvZHVjdDo6MTAwODEyNzY2"  # what the first version of the sync stored as the code
    old = Product.objects.create(shop=synced.shop, code=opaque, kaspi_id=opaque, name="LEGO")
    synced.order(items=[{"product_code": "100812766", "quantity": 1}])

    synced.sync()

    old.refresh_from_db()
    assert (old.code, Product.objects.filter(shop=synced.shop).count()) == ("100812766", 1)


def test_a_repeated_sync_over_the_same_window_creates_nothing(kaspi):
    kaspi.order()
    kaspi.order(status="ACCEPTED_BY_MERCHANT")
    kaspi.sync(days=3)

    again = kaspi.sync(days=3)

    entries = OrderEntry.objects.count()
    assert (again.seen, again.new, again.updated, again.triggers) == (2, 0, 0, 0)
    assert (Order.objects.count(), OutboundMessage.objects.count()) == (2, 2)
    kaspi.sync(days=3)
    assert OrderEntry.objects.count() == entries


# The statuses an order goes through, with a sync after each, and the outbox it leaves.
LIVES = [
    (["APPROVED_BY_BANK"], {"POST_PURCHASE": "pending"}),
    (["ACCEPTED_BY_MERCHANT"], {"POST_PURCHASE": "pending"}),
    (["APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT"], {"POST_PURCHASE": "pending"}),
    (["ACCEPTED_BY_MERCHANT", "COMPLETED"], {"POST_PURCHASE": "pending", "ORDER_DELIVERED": "pending"}),
    (["APPROVED_BY_BANK", "CANCELLING", "CANCELLED"], {"POST_PURCHASE": "cancelled"}),
    (["ACCEPTED_BY_MERCHANT", "CANCELLED"], {"POST_PURCHASE": "cancelled"}),
    (["CANCELLED"], {}),
    (["COMPLETED"], {"ORDER_DELIVERED": "pending"}),  # placed and delivered between two syncs
    (["COMPLETED", "KASPI_DELIVERY_RETURN_REQUESTED"], {"ORDER_DELIVERED": "cancelled"}),
    (["ACCEPTED_BY_MERCHANT", "COMPLETED", "RETURNED"], {"POST_PURCHASE": "cancelled", "ORDER_DELIVERED": "cancelled"}),
]


@pytest.mark.parametrize("statuses, expected", LIVES, ids=["-".join(s) for s, _ in LIVES])
def test_each_status_an_order_reaches_gives_its_trigger_once(synced, statuses, expected):
    code = synced.order(status=statuses[0])["code"]
    synced.sync()
    for status in statuses[1:]:
        synced.set_status(code, status)
        synced.sync()
    synced.sync()

    assert outbox(code) == expected
    assert Order.objects.get(code=code).kaspi_status == statuses[-1]


def test_an_older_view_never_reopens_a_finished_order(synced):
    code = synced.order(status="COMPLETED")["code"]
    synced.sync()
    synced.set_status(code, "APPROVED_BY_BANK")  # as a page read before the order moved on shows it

    synced.sync()

    assert Order.objects.get(code=code).state == "delivered"
    assert outbox(code) == {"ORDER_DELIVERED": "pending"}


def test_a_cancelled_order_records_why_its_message_was_cancelled(synced):
    code = synced.order()["code"]
    synced.sync()
    synced.set_status(code, "CANCELLED")
    synced.sync()
    message = OutboundMessage.objects.get(order__code=code)
    assert (message.status, message.reason) == ("cancelled", "order_cancelled")
    assert message.events.last().note == "order cancelled"


def test_an_order_completed_later_gets_its_delivered_trigger_and_keeps_its_phone(synced):
    created = synced.order(phone="7771234567")
    synced.sync()
    synced.set_status(created["code"], "COMPLETED")

    summary = synced.sync()

    order = Order.objects.get(code=created["code"])
    assert (summary.updated, summary.triggers) == (1, 1)
    assert order.state == Order.State.DELIVERED and order.delivered_at
    assert order.customer_phone == "+77771234567"  # Kaspi masks it on finished orders


def test_a_first_sync_learns_finished_orders_as_history_without_messages(kaspi):
    done = kaspi.order(status="COMPLETED", days_ago=3)
    open_one = kaspi.order(status="ACCEPTED_BY_MERCHANT", days_ago=3)

    kaspi.sync()

    assert Order.objects.filter(code=done["code"], state="delivered").exists()
    assert (outbox(done["code"]), outbox(open_one["code"])) == ({}, {"POST_PURCHASE": "pending"})


def test_an_unknown_status_is_kept_without_a_trigger(synced):
    created = synced.order()
    synced.sync()
    synced.sandbox.server.state.orders_by_code[created["code"]].status = "SOMETHING_NEW"  # Kaspi adds a status

    synced.sync()

    order = Order.objects.get(code=created["code"])
    assert (order.kaspi_status, order.state) == ("SOMETHING_NEW", "new")
    assert outbox(created["code"]) == {"POST_PURCHASE": "pending"}


class TestWatermark:
    def test_a_sync_reads_every_tab_only_since_the_watermark_less_the_overlap(self, synced, settings):
        watermark = synced.shop.sync_watermark
        synced.sync()

        archive = synced.order_lists("ARCHIVE")
        since_ms = int((watermark - timedelta(minutes=settings.KASPI_SYNC_OVERLAP_MINUTES)).timestamp() * 1000)
        assert [int(a["filter[orders][creationDate][$ge]"]) for a in archive] == [since_ms]
        earliest = min(int(args["filter[orders][creationDate][$ge]"]) for args in synced.order_lists())
        open_since = timezone.now() - timedelta(days=settings.KASPI_OPEN_ORDERS_DAYS)
        assert abs(earliest - open_since.timestamp() * 1000) < 60_000  # active tabs look back for open orders

    def test_an_order_completed_weeks_after_creation_is_still_seen(self, kaspi):
        created = kaspi.order(status="ACCEPTED_BY_MERCHANT", days_ago=20)
        kaspi.sync(days=25)
        kaspi.sync()
        kaspi.set_status(created["code"], "COMPLETED")
        kaspi.forget_requests()

        summary = kaspi.sync()

        assert outbox(created["code"]) == {"POST_PURCHASE": "pending", "ORDER_DELIVERED": "pending"}
        assert summary.triggers == 1
        # Found by its id once it left the active tabs; the archive was not read back 20 days.
        assert [r["path"].rsplit("/", 1)[1] for r in kaspi.requests("/orders/")] == [created["id"]]
        oldest_archive = min(int(args["filter[orders][creationDate][$ge]"]) for args in kaspi.order_lists("ARCHIVE"))
        assert oldest_archive > created["created_ms"] + 10 * DAY_MS

    def test_an_open_order_kaspi_shows_late_is_caught_by_the_look_back(self, synced):
        # Approved by the bank hours after its creation date, which is before the watermark.
        late = synced.order(status="APPROVED_BY_BANK", days_ago=2)

        synced.sync()

        assert outbox(late["code"]) == {"POST_PURCHASE": "pending"}
        assert OrderEntry.objects.filter(order__code=late["code"]).exists()

    def test_a_backfill_saves_old_finished_orders_without_messaging_them(self, synced):
        old = synced.order(status="COMPLETED", days_ago=20)
        watermark = synced.shop.sync_watermark

        summary = synced.sync(days=30)

        assert (summary.new, summary.triggers, outbox(old["code"])) == (1, 0, {})
        synced.shop.refresh_from_db()
        assert synced.shop.sync_watermark > watermark

    def test_a_backfill_that_leaves_a_gap_keeps_the_old_watermark(self, synced):
        watermark = synced.shop.sync_watermark
        synced.sync(days=1, now=timezone.now() + timedelta(days=3))
        synced.shop.refresh_from_db()
        assert synced.shop.sync_watermark == watermark


def test_a_shop_with_ten_thousand_orders_is_synced_whole(sandbox, db):
    from .conftest import make_shop

    big = make_shop(sandbox, "big-shop-token-10k", orders=10_000)
    expected = sandbox.get("kaspi/shops")[0]
    open_orders = {s: 0 for s in ("APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT")}
    for order in sandbox.server.state.shops[big.shop.kaspi_token].orders:
        if order.status in open_orders:
            open_orders[order.status] += 1

    summary = big.sync(days=31)

    assert expected["orders"] == 10_000
    assert (summary.seen, summary.new) == (10_000, 10_000)
    assert Order.objects.filter(shop=big.shop).count() == 10_000
    assert OrderEntry.objects.filter(order__shop=big.shop).count() == sum(
        len(o.entries) for o in sandbox.server.state.shops[big.shop.kaspi_token].orders)
    # A first sync: only orders still under way get a thank-you; finished ones are history.
    assert summary.triggers == sum(open_orders.values()) == OutboundMessage.objects.count()
    assert Product.objects.filter(shop=big.shop).count() == len(big.requests("/product"))
    again = big.sync()
    assert (again.new, again.updated, again.triggers) == (0, 0, 0)
