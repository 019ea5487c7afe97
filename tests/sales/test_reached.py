"""The lift read from the figures PostgreSQL keeps per reached message (`seller.reached`) is the
lift counted from the orders (`sales.groups_each_on_its_own`, the reference), whatever happens to
the messages and the orders afterwards; a changed window or a missing trigger makes the metrics
count from the orders again (never silently wrong) until `rebuild_metrics`."""

import logging
import random
import threading
import time
from datetime import timedelta

import pytest

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from kaspi_sync.models import Order, Shop
from messaging.models import OutboundMessage
from seller import reached
from seller.models import ReachedMessage
from seller.ops import health, metrics, sales
from tests.sales.conftest import held_out, order, sent


def stored():
    return sorted(ReachedMessage.objects.values_list("message_id", "arm", "shop_id", "phone", "trigger", "variant",
                                                     "moment", "orders", "revenue"))


def windows(now, shop):
    return [metrics.Window(since=None, start=None, end=now + timedelta(days=30)),
            metrics.Window(since=None, start=now - timedelta(days=4), end=now),
            metrics.Window(since=None, start=now - timedelta(days=20), end=now, shop_id=shop.pk),
            metrics.Window(since=None, start=None, end=now, shop_ids=(shop.pk,))]


def assert_exact(now, shop):
    """The stored figures are what a count from scratch gives, and the lift read from them is the
    reference's, in every window."""
    kept = stored()
    reached.rebuild()
    assert stored() == kept
    for win in windows(now, shop):
        assert sales.groups_from_reached(win) == sales.groups_each_on_its_own(win), win


@pytest.fixture
def customers(shop, now):
    """Two shops, customers reached once, twice (per trigger and variant) and held out."""
    other = Shop.objects.create(name="Kitchen KZ", kaspi_token="kaspi-other-token-9")
    rng = random.Random(16)
    for n in range(12):
        phone, at = f"+7701777{n:04d}", now - timedelta(days=rng.uniform(1, 15))
        where = rng.choice([shop, other])
        if n % 4 == 0:
            held_out(where, phone, at, trigger=rng.choice(["POST_PURCHASE", "ORDER_DELIVERED"]))
        else:
            sent(where, phone, at, variant=rng.choice(["", "short", "warm"]),
                 delivered_after=rng.choice([None, timedelta(minutes=5)]))
        if n % 3 == 0:  # a second message, days later (the earliest is the one that counts)
            sent(where, phone, at + timedelta(days=2), trigger="ORDER_DELIVERED", variant="warm")
        for _ in range(rng.randint(0, 3)):
            order(where, phone, at + timedelta(days=rng.uniform(-2, 9)), total=rng.randrange(1_000, 50_000),
                  state=rng.choice(["delivered", "accepted", "cancelled"]))
    return other


def test_the_stored_lift_is_the_lift_from_the_orders_whatever_changes_afterwards(shop, customers, now):
    assert reached.ready() == (True, "")
    assert ReachedMessage.objects.filter(arm="messaged").exists() and ReachedMessage.objects.filter(arm="holdout").exists()
    assert_exact(now, shop)
    everything = windows(now, shop)[0]
    before = sales.groups_from_reached(everything)

    # An order synced days after the message, placed within its window: the message bought it.
    message = sent(shop, "+77017000001", now - timedelta(days=3))
    assert ReachedMessage.objects.get(message=message).orders == 0
    late = order(shop, "+77017000001", now - timedelta(days=1), total=12_345)
    assert ReachedMessage.objects.get(message=message).orders == 1
    assert sales.groups_from_reached(everything) != before
    assert_exact(now, shop)

    # Cancelled later, then returned, then counted again.
    Order.objects.filter(pk=late.pk).update(state=Order.State.CANCELLED)
    assert ReachedMessage.objects.get(message=message).orders == 0
    Order.objects.filter(pk=late.pk).update(state=Order.State.DELIVERED, total_price=20_000)
    assert ReachedMessage.objects.get(message=message).revenue == 20_000
    Order.objects.filter(pk=late.pk).update(state=Order.State.RETURNED)
    assert_exact(now, shop)
    Order.objects.filter(pk=late.pk).update(state=Order.State.DELIVERED)

    # The phone corrected: the order moves from one customer to another (held out) one.
    holdout = held_out(shop, "+77017000002", now - timedelta(days=2))
    Order.objects.filter(pk=late.pk).update(customer_phone="+77017000002")
    assert ReachedMessage.objects.get(message=message).orders == 0
    assert ReachedMessage.objects.get(message=holdout).orders == 1
    # The date corrected: out of the window, then back in it.
    Order.objects.filter(pk=late.pk).update(created_at_kaspi=now + timedelta(days=20))
    assert ReachedMessage.objects.get(message=holdout).orders == 0
    Order.objects.filter(pk=late.pk).update(created_at_kaspi=now - timedelta(hours=2), shop=customers)
    assert ReachedMessage.objects.get(message=holdout).orders == 0  # another shop's order
    Order.objects.filter(pk=late.pk).update(shop=shop)
    assert ReachedMessage.objects.get(message=holdout).orders == 1
    assert_exact(now, shop)

    # Delivered a day after it was sent: the moment moves past an order (which then no longer counts).
    early = order(shop, "+77017000001", now - timedelta(days=2, hours=12), total=7_000)
    assert ReachedMessage.objects.get(message=message).orders == 1
    OutboundMessage.objects.filter(pk=message.pk).update(status="delivered", delivered_at=now - timedelta(days=2))
    assert ReachedMessage.objects.get(message=message).moment == now - timedelta(days=2)
    assert ReachedMessage.objects.get(message=message).orders == 0
    assert_exact(now, shop)

    # Two messages of one customer: the earliest counts, with its own window.
    second = sent(shop, "+77017000001", now - timedelta(days=2, hours=13), trigger="ORDER_DELIVERED")
    assert ReachedMessage.objects.get(message=second).orders == 1
    assert_exact(now, shop)

    # A deleted order, a message that leaves its arm (failed after all), and one deleted.
    early.delete()
    assert ReachedMessage.objects.get(message=second).orders == 0
    OutboundMessage.objects.filter(pk=second.pk).update(status="failed", reason="waha_ack_error")
    assert not ReachedMessage.objects.filter(message=second).exists()
    OutboundMessage.objects.filter(pk=holdout.pk).delete()
    assert not ReachedMessage.objects.filter(message=holdout).exists()
    assert_exact(now, shop)

    # A held-out row touched again: its moment is its last update, as the lift reads it.
    other_holdout = ReachedMessage.objects.filter(arm="holdout").first()
    OutboundMessage.objects.filter(pk=other_holdout.message_id).update(updated_at=now - timedelta(hours=1))
    assert ReachedMessage.objects.get(pk=other_holdout.pk).moment == now - timedelta(hours=1)
    assert_exact(now, shop)


def test_the_endpoints_lift_comes_from_the_stored_figures_and_is_the_plain_one(shop, customers, now, monkeypatch):
    asked = []
    monkeypatch.setattr(sales, "groups_from_reached", lambda win, read=sales.groups_from_reached: asked.append(win)
                        or read(win))
    for win in windows(now, shop):
        with metrics.for_aggregates():
            fast = metrics.count_all(win)
        with monkeypatch.context() as plain, metrics.for_aggregates():
            plain.setattr(sales, "all_groups", sales.groups_each_on_its_own)
            slow = metrics.count_all(win)
        assert fast == slow
    assert len(asked) == 4 and fast["messaged"]["customers"] and fast["holdout"]["customers"]


def test_a_changed_window_is_counted_from_the_orders_until_rebuilt(shop, customers, now, settings, caplog, capsys):
    win = windows(now, shop)[0]
    seven_days = sales.all_groups(win)
    settings.SELLER_ATTRIBUTION_DAYS = 2.5

    ok, why = reached.ready()
    assert not ok and "SELLER_ATTRIBUTION_DAYS=2.5" in why and "rebuild_metrics" in why
    assert sales.groups_from_reached(win) == seven_days  # what the stored figures (7 days) would say
    with caplog.at_level(logging.WARNING, logger="seller.ops.sales"):
        two_and_a_half = sales.all_groups(win)
    assert two_and_a_half == sales.groups_each_on_its_own(win) != seven_days  # the current window's
    assert "SELLER_ATTRIBUTION_DAYS=2.5" in caplog.text
    assert health.check(health.lift_figures) == {"ok": False, "error": f"RuntimeError: {why}"}

    call_command("rebuild_metrics")
    assert "Lift figures rebuilt from the outbox and the orders" in capsys.readouterr().out
    assert reached.ready() == (True, "") and health.check(health.lift_figures) == {"ok": True, "stored": True}
    assert sales.groups_from_reached(win) == two_and_a_half
    order(shop, "+77017770001", now - timedelta(days=1))  # the triggers count the new window too
    assert_exact(now, shop)


def test_without_the_orders_trigger_the_stored_figures_go_wrong_and_are_not_used(shop, customers, now):
    """What the trigger on the orders is for: with it disabled, a late order is missing from the
    stored figures; the metrics see that the trigger is off and count from the orders."""
    win = windows(now, shop)[0]
    message = sent(shop, "+77017000009", now - timedelta(days=3))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no check pending: the table may be altered
        cursor.execute(f"ALTER TABLE kaspi_sync_order DISABLE TRIGGER {reached.ORDER_TRIGGERS[0]}")
    order(shop, "+77017000009", now - timedelta(days=1))

    assert ReachedMessage.objects.get(message=message).orders == 0  # the order is missing
    assert sales.groups_from_reached(win) != sales.groups_each_on_its_own(win)
    assert not reached.ready()[0]
    assert sales.all_groups(win) == sales.groups_each_on_its_own(win)
    call_command("rebuild_metrics")  # installs the triggers again and counts every row
    assert reached.ready()[0] and ReachedMessage.objects.get(message=message).orders == 1
    assert_exact(now, shop)


def test_the_figures_stay_exact_while_messages_and_orders_of_the_same_customers_are_written_at_once(
        transactional_db, shop):
    """Threads on connections of their own send messages to, and sync orders of, the same few
    customers at the same time, committing each write: every stored row ends as a count from
    scratch gives it (each side's trigger waits for the other's transaction on that customer)."""
    now = timezone.now()
    phones = [f"+7701888{n:04d}" for n in range(4)]
    placed = [order(shop, phone, now - timedelta(days=1)) for phone in phones for _ in range(6)]
    errors = []

    def messages(seed):
        rng = random.Random(seed)
        try:
            for row in placed[seed // 2::3]:  # orders of its own (one message per order and trigger)
                for trigger in ("POST_PURCHASE", "ORDER_DELIVERED"):
                    message = OutboundMessage.objects.create(shop=shop, order=row, trigger=trigger,
                                                             phone=row.customer_phone, status="sending")
                    at = now - timedelta(hours=rng.uniform(0, 30))
                    OutboundMessage.objects.filter(pk=message.pk).update(status="sent", sent_at=at)
        except Exception as exc:  # surfaced below
            errors.append(repr(exc))
        finally:
            connection.close()

    def orders(seed):
        rng = random.Random(seed)
        try:
            for _ in range(20):
                made = order(shop, rng.choice(phones), now - timedelta(hours=rng.uniform(0, 20)))
                if rng.random() < 0.3:
                    Order.objects.filter(pk=made.pk).update(state=Order.State.CANCELLED)
        except Exception as exc:  # surfaced below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(seed,)) for seed, work in enumerate([messages, orders] * 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    kept = stored()
    assert len(kept) > 30 and any(row[7] for row in kept)
    reached.rebuild()
    assert stored() == kept


def test_a_message_reached_while_a_sync_batch_holds_its_customer_waits_and_never_deadlocks(transactional_db, shop):
    """A sync batch (one transaction) writes an order of a customer, then another within the
    window of a message of theirs; meanwhile a worker marks that message delivered (its moment
    moves). The worker waits for the batch, then counts what it committed: before, the worker
    took the stored row first and waited for the customer's lock while the batch, holding that
    lock, waited for the row (PostgreSQL aborted one of them: "deadlock detected")."""
    now, phone = timezone.now(), "+77017990001"
    message = sent(shop, phone, now - timedelta(days=3), delivered_after=None)
    batch_holds_the_customer, errors = threading.Event(), []

    def sync_batch():
        try:
            with transaction.atomic():
                order(shop, phone, now - timedelta(days=5))  # before the message: the customer's lock only
                batch_holds_the_customer.set()
                with connection.cursor() as cursor:  # until the worker waits for it
                    for _ in range(200):
                        cursor.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                        if cursor.fetchone()[0]:
                            break
                        time.sleep(0.02)
                order(shop, phone, now - timedelta(days=1))  # within the message's window
        except Exception as exc:  # surfaced below
            errors.append(repr(exc))
        finally:
            connection.close()

    def worker():
        try:
            batch_holds_the_customer.wait(10)
            OutboundMessage.objects.filter(pk=message.pk).update(status="delivered", delivered_at=now - timedelta(days=2))
        except Exception as exc:  # surfaced below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=sync_batch), threading.Thread(target=worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    row = ReachedMessage.objects.get(message=message)
    assert (row.moment, row.orders) == (now - timedelta(days=2), 1)
