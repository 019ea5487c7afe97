"""The metrics' fast path gives exactly what the plain computation gives (each grouping counted on
its own from the events, each sales grouping a query of its own), on generated histories: windows
whose edges cut through a message's history, one shop, a merchant's shops. The fast path reads
the per-message outcome summary (`messaging.outcomes`), which PostgreSQL keeps from the events:
it stays right when workers move rows at the same time, and `rebuild_outcomes` restores it."""

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from kaspi_sync.models import Shop
from messaging import outbox, outcomes
from messaging.models import MessageEvent, MessageOutcome, OutboundMessage
from seller.ops import metrics, sales
from tests.api.conftest import history_maker
from tests.sales.conftest import held_out, order, sent

STATUS_PATHS = [
    ["approved", "generated", "sending", "sent", "delivered", "read"],
    ["approved", "generated", "sending", "sent", "read"],
    ["approved", "generated", "sending", "sent"],
    ["approved", "generated", "sending", "failed"],
    ["approved", "generated", "sending", "failed", "pending", "approved", "generated", "sending", "failed"],
    ["approved", "generated", "sending", "unknown", "sent"],
    ["deferred", "pending", "deferred", "pending", "approved", "generated", "sending", "sent", "delivered"],
    ["deferred", "pending", "deferred", "pending", "deferred"],
    ["blocked"],
    ["cancelled"],
    ["approved"],
]


def generated_history(history, shops, rng, count, now):
    """`count` outbox rows over the last ten days, their steps hours apart (so a message's
    statuses fall on different days, and a deferral repeats on another day)."""
    for _ in range(count):
        path = rng.choice(STATUS_PATHS)
        at = now - timedelta(days=rng.uniform(0, 10))
        moves = []
        for status in path:
            at = min(at + timedelta(hours=rng.uniform(0, 30)), now)
            moves.append((status, at))
        reason = ""
        if path[-1] == "blocked":
            reason = rng.choice(["cap", "opt_out", "", "holdout"])
        elif path[-1] == "failed":
            reason = rng.choice(["waha_http_400", ""])
        extra = {}
        if "generated" in path:
            extra = dict(generated_at=moves[path.index("generated")][1], generation_ms=rng.randint(100, 3000),
                         prompt_tokens=rng.randint(100, 500), completion_tokens=rng.randint(20, 90),
                         source=rng.choice(["ai", "fallback"]), repair_reason=rng.choice(["", "too long"]))
        if "sent" in path and rng.random() < 0.3:
            extra["replied_at"] = min(moves[-1][1] + timedelta(hours=2), now)
        history(rng.choice(shops), moves, trigger=rng.choice(["POST_PURCHASE", "ORDER_DELIVERED"]),
                reason=reason, **extra)


def generated_sales(shops, rng, now):
    """Customers reached once or more (per trigger and variant), held out, and their orders
    before, inside and after the attribution window, some cancelled or returned."""
    for n in range(40):
        shop, phone = rng.choice(shops), f"+7701555{n:04d}"
        for _ in range(rng.randint(0, 3)):
            at = now - timedelta(days=rng.uniform(0, 12))
            if rng.random() < 0.2:
                held_out(shop, phone, at, trigger=rng.choice(["POST_PURCHASE", "ORDER_DELIVERED"]))
            else:
                sent(shop, phone, at, trigger=rng.choice(["POST_PURCHASE", "ORDER_DELIVERED"]),
                     variant=rng.choice(["", "short", "warm"]),
                     delivered_after=rng.choice([None, timedelta(minutes=5), timedelta(hours=20)]))
        for _ in range(rng.randint(0, 4)):
            order(shop, phone, now - timedelta(days=rng.uniform(0, 12)), total=rng.randrange(1_000, 50_000),
                  state=rng.choice(["delivered", "delivered", "cancelled", "returned", "accepted"]))


def windows(shops, now, rng):
    start = now - timedelta(days=3, hours=7)  # mid-day, as `?days=N` is
    found = [
        metrics.Window(since=None, start=None, end=now),
        metrics.Window(since=None, start=start, end=now),
        metrics.Window(since=None, start=start, end=now, shop_id=shops[1].pk),
        metrics.Window(since=None, start=None, end=now, shop_ids=(shops[0].pk,)),
        metrics.Window(since=None, start=start, end=now, shop_ids=(shops[1].pk,)),
        metrics.Window(since=None, start=None, end=now, shop_ids=()),
    ]
    for _ in range(8):  # edges anywhere, some windows of a few hours, some ending in the past
        first = now - timedelta(hours=rng.uniform(0, 260))
        last = min(first + timedelta(hours=rng.choice([2, 9, 30, 100])), now)
        found.append(metrics.Window(since=None, start=first, end=last, shop_id=rng.choice([None, shops[0].pk])))
    return found


def plain(win):
    return {by: metrics.collect(win, by) for by in metrics.GROUPINGS}


def both_ways(win, monkeypatch):
    """The whole answer of the endpoint, counted the fast way and the plain way."""
    with metrics.for_aggregates():
        fast = metrics.count_all(win)
    with monkeypatch.context() as patched, metrics.for_aggregates():
        patched.setattr(metrics, "collect_all", plain)
        patched.setattr(sales, "all_groups", sales.groups_each_on_its_own)
        slow = metrics.count_all(win)
    return fast, slow


def two_shops(shop):
    return [shop, Shop.objects.create(name="Kitchen KZ", kaspi_token="kaspi-other-token-9")]


def test_the_fast_path_counts_exactly_what_each_grouping_counts_on_its_own(history, shop, monkeypatch):
    shops = two_shops(shop)
    rng, now = random.Random(16), timezone.now()
    generated_history(history, shops, rng, 80, now)
    generated_sales(shops, rng, now)
    assert connection.vendor == "postgresql" and MessageOutcome.objects.exists()  # the fast path is taken

    for win in windows(shops, now, rng):
        fast, slow = both_ways(win, monkeypatch)
        assert fast == slow, win
    everything = both_ways(windows(shops, now, rng)[0], monkeypatch)[0]
    assert everything["deferred"] and everything["failed_by_reason"] and everything["blocked"]  # what is checked
    assert everything["messaged"]["customers"] and everything["holdout"]["customers"] and everything["by_variant"]

    # New events arrive: a row deferred again today, a new row, a late read of an old message.
    later = now + timedelta(hours=1)
    generated_history(history, shops, rng, 10, later)
    old = OutboundMessage.objects.filter(status="sent").order_by("pk").first()
    MessageEvent.objects.create(message=old, status="read", at=later)
    for win in windows(shops, later, rng):
        fast, slow = both_ways(win, monkeypatch)
        assert fast == slow, win


@pytest.mark.parametrize("now", [datetime(2026, 3, 30, 12, tzinfo=UTC), datetime(2026, 3, 29, 15, tzinfo=UTC),
                                 datetime(2026, 10, 27, 9, tzinfo=UTC)])
def test_days_are_the_merchants_days_when_the_clocks_change(history, shop, monkeypatch, settings, now):
    """Where the clocks move (here Berlin's summer time, 29 March and 25 October 2026), a day
    lasts 23 or 25 hours: the fast path finds each moment's local day all the same, on the day
    of the change, before it and after it."""
    settings.SELLER_TIMEZONE = "Europe/Berlin"
    shops = two_shops(shop)
    rng = random.Random(29)
    generated_history(history, shops, rng, 80, now)
    generated_sales(shops, rng, now)
    for win in windows(shops, now, rng):
        fast, slow = both_ways(win, monkeypatch)
        assert fast == slow, win
    everything = both_ways(windows(shops, now, rng)[0], monkeypatch)[0]
    assert len(everything["by_day"]) >= 10 and everything["delivered"]


def test_an_outcome_before_and_after_a_window_but_not_in_it_does_not_count(history, shop, monkeypatch):
    """The summary knows a message's first and last time only; in between, the events decide."""
    now = timezone.now()
    row = history(shop, [("deferred", now - timedelta(days=4)), ("pending", now - timedelta(days=4)),
                         ("deferred", now - timedelta(hours=2))])
    inside = metrics.Window(since=None, start=now - timedelta(days=3), end=now - timedelta(days=1))
    assert MessageOutcome.objects.get(message=row, outcome="deferred").first_at < inside.start

    fast, slow = both_ways(inside, monkeypatch)
    assert fast == slow and fast["deferred"] == 0
    fast, slow = both_ways(metrics.Window(since=None, start=now - timedelta(days=5), end=now), monkeypatch)
    assert fast == slow and fast["deferred"] == 1
    assert [day["deferred"] for day in fast["by_day"] if day["deferred"]] == [1, 1]  # once on each day


def test_a_message_with_only_other_statuses_in_a_window_still_shows_its_trigger(history, shop, monkeypatch):
    """Any event makes its shop and trigger show up, even one that is no outcome (approved,
    generated ...) of a message whose history begins before the window and ends after it."""
    now = timezone.now()
    history(shop, [("approved", now - timedelta(days=3)), ("generated", now - timedelta(days=2)),
                   ("sending", now - timedelta(hours=1))], trigger="ORDER_DELIVERED")
    inside = metrics.Window(since=None, start=now - timedelta(days=2, hours=12), end=now - timedelta(days=1))

    fast, slow = both_ways(inside, monkeypatch)
    assert [group["trigger"] for group in slow["by_trigger"]] == ["ORDER_DELIVERED"]
    assert fast == slow


def summary():
    return sorted(MessageOutcome.objects.values_list("message_id", "outcome", "shop_id", "trigger", "first_at", "last_at"))


def from_events():
    """The summary computed here, from every event: what the trigger must have kept."""
    found = {}
    statuses = {outcome: set(kept) for outcome, kept in outcomes.OUTCOMES.items()}
    for message_id, shop_id, trigger, status, at in MessageEvent.objects.values_list(
            "message_id", "message__shop_id", "message__trigger", "status", "at"):
        for outcome in [outcomes.ANY] + [name for name, kept in statuses.items() if status in kept]:
            first, last = found.get((message_id, outcome, shop_id, trigger), (at, at))
            found[(message_id, outcome, shop_id, trigger)] = (min(first, at), max(last, at))
    return sorted((*key, *times) for key, times in found.items())


def test_the_summary_stays_right_while_workers_move_rows_at_the_same_time(transactional_db, shop):
    """Eight threads, each with its own database connection, move the same rows back and forth
    (deferred, pending, approved, ... sent) as fast as they can; every event they write must be
    in the summary, however their transactions interleave."""
    from kaspi_sync.models import Order

    rows = []
    for n in range(24):
        placed = Order.objects.create(shop=shop, kaspi_id=f"C{n}", code=f"9{n:07d}", created_at_kaspi=timezone.now(),
                                      customer_phone=f"+7701666{n:04d}")
        rows += outbox.create_messages([(placed, "POST_PURCHASE")])
    steps = [("pending", "deferred"), ("deferred", "pending"), ("pending", "approved"), ("approved", "generated"),
             ("generated", "sending"), ("sending", "generated"), ("sending", "sent"), ("sent", "delivered"),
             ("delivered", "read"), ("sending", "failed"), ("failed", "pending"), ("pending", "blocked")]
    moved, errors = [], []

    def worker(seed):
        rng = random.Random(seed)
        try:
            for _ in range(150):
                current, new = rng.choice(steps)
                if outbox.move(rng.choice(rows), current, new, reason=rng.choice(["", "cap", "waha_http_400"])):
                    moved.append(new)
        except Exception as exc:  # surfaced below (its traceback stays in the thread)
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(moved) > 50 and {"deferred", "pending"} <= set(moved)  # they did move (how far is chance)
    assert summary() == from_events()
    now = timezone.now()
    for win in (metrics.Window(since=None, start=None, end=now),
                metrics.Window(since=None, start=now - timedelta(seconds=1), end=now)):
        with metrics.for_aggregates():
            assert metrics.collect_all(win)[None] == plain(win)[None]


def test_rebuild_outcomes_restores_a_wiped_or_corrupted_summary(history, shop, monkeypatch, capsys):
    rng, now = random.Random(7), timezone.now()
    generated_history(history, [shop], rng, 30, now)
    everything = metrics.Window(since=None, start=None, end=now)
    kept = summary()
    assert kept == from_events()

    MessageOutcome.objects.all().delete()  # wiped
    fast, slow = both_ways(everything, monkeypatch)
    assert fast["sent"] == 0 and slow["sent"] > 0  # what a lost summary would show
    call_command("rebuild_outcomes")
    assert "Outcome summary rebuilt from the events" in capsys.readouterr().out
    assert summary() == kept
    fast, slow = both_ways(everything, monkeypatch)
    assert fast == slow

    # corrupted: a row moved, one lost, one invented
    MessageOutcome.objects.filter(outcome="sent").update(first_at=now + timedelta(days=1))
    MessageOutcome.objects.filter(outcome=outcomes.ANY).order_by("pk").first().delete()
    bogus = MessageOutcome.objects.filter(outcome="deferred").first()
    bogus.pk, bogus.outcome = None, "cancelled"
    bogus.save()
    assert summary() != kept
    call_command("rebuild_outcomes")
    assert summary() == kept
    assert both_ways(everything, monkeypatch)[0] == both_ways(everything, monkeypatch)[1]


def test_the_sales_counted_on_a_second_connection_give_the_same_answer(transactional_db, shop):
    """Outside a transaction (as a request is), the sales figures are counted in a thread on a
    connection of its own while the outbox figures are counted: the answer is the same."""
    shops = two_shops(shop)
    rng, now = random.Random(5), timezone.now()
    generated_history(history_maker(), shops, rng, 30, now)
    generated_sales(shops, rng, now)
    assert metrics.can_count_beside()

    for win in windows(shops, now, rng)[:4]:
        beside = metrics.summary(win)
        with metrics.for_aggregates():
            alone = metrics.count_all(win, beside=False)
        assert beside == alone and beside["messaged"]["customers"] > 0
