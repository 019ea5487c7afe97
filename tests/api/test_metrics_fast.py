"""The metrics' fast path (the events and rows read once for every grouping) gives exactly what
the plain computation gives: each grouping counted on its own."""

import random
from datetime import timedelta

from django.utils import timezone

from kaspi_sync.models import Shop
from seller.ops import metrics

STATUS_PATHS = [
    ["approved", "generated", "sending", "sent", "delivered", "read"],
    ["approved", "generated", "sending", "sent", "read"],
    ["approved", "generated", "sending", "sent"],
    ["approved", "generated", "sending", "failed"],
    ["approved", "generated", "sending", "unknown", "sent"],
    ["deferred", "pending", "deferred", "pending", "approved", "generated", "sending", "sent", "delivered"],
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


def windows(shops, now):
    start = now - timedelta(days=3, hours=7)  # mid-day, as `?days=N` is
    return [
        metrics.Window(since=None, start=None, end=now),
        metrics.Window(since=None, start=start, end=now),
        metrics.Window(since=None, start=start, end=now, shop_id=shops[1].pk),
        metrics.Window(since=None, start=None, end=now, shop_ids=(shops[0].pk,)),
        metrics.Window(since=None, start=None, end=now, shop_ids=()),
    ]


def plain(win):
    return {by: metrics.collect(win, by) for by in metrics.GROUPINGS}


def both_ways(win, monkeypatch):
    """The whole answer of the endpoint, counted the fast way and the plain way."""
    with metrics.for_aggregates():
        fast = metrics.count_all(win)
    with monkeypatch.context() as patched, metrics.for_aggregates():
        patched.setattr(metrics, "collect_all", plain)
        slow = metrics.count_all(win)
    return fast, slow


def test_one_pass_counts_exactly_what_each_grouping_counts_on_its_own(history, shop, monkeypatch):
    shops = [shop, Shop.objects.create(name="Kitchen KZ", kaspi_token="kaspi-other-token-9")]
    rng, now = random.Random(16), timezone.now()
    generated_history(history, shops, rng, 60, now)

    for win in windows(shops, now):
        fast, slow = both_ways(win, monkeypatch)
        assert fast == slow
    assert metrics.collect_all(windows(shops, now)[0])[None][None]["deferred"] > 0  # the data has what is checked

    # New events arrive: a row deferred again today, a new row, a late read of an old message.
    later = now + timedelta(hours=1)
    generated_history(history, shops, rng, 10, later)
    from messaging.models import MessageEvent, OutboundMessage

    old = OutboundMessage.objects.filter(status="sent").order_by("pk").first()
    MessageEvent.objects.create(message=old, status="read", at=later)
    for win in windows(shops, later):
        fast, slow = both_ways(win, monkeypatch)
        assert fast == slow
