"""The figures operators watch, counted from the outbox and its history, never kept as loose
counters that drift.

Outcomes come from `MessageEvent` (every status change, with its time): a row counts as sent,
delivered, blocked ... in the period in which that change happened. Generation figures come
from the rows (`generated_at`, `source`, latency, tokens), replies from `replied_at`.
Block and failure reasons are read from the data, so a new reason shows up by itself.
"""

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, F, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from kaspi_sync.models import Shop
from messaging import outcomes as message_outcomes
from messaging.models import MessageEvent, MessageOutcome, OutboundMessage

from seller.models import Answer, HandledReply, Handoff, MetricsPeriod

from . import sales

Status = OutboundMessage.Status

# Each outcome and the statuses whose event counts it (the summary's, but `blocked`, which is
# counted by reason below).
OUTCOMES = {name: statuses for name, statuses in message_outcomes.OUTCOMES.items() if name != "blocked"}
# Terminal statuses: the row's `reason` is the one it ended with.
WITH_REASON = [Status.BLOCKED, Status.FAILED]


@dataclass(frozen=True)
class Window:
    """What to count: from `start` (None: all history) to `end`, optionally one shop."""

    since: datetime | None  # the current counting period's start (reset-metrics)
    start: datetime | None
    end: datetime
    shop_id: int | None = None
    shop_ids: tuple[int, ...] | None = None  # a merchant's shops; None: every shop

    def rows(self, queryset, field: str, shop_field: str = "shop_id"):
        """The rows of `queryset` whose `field` falls in the window, of its shops."""
        queryset = queryset.filter(**{f"{field}__lte": self.end})
        if self.start:
            queryset = queryset.filter(**{f"{field}__gte": self.start})
        if self.shop_id:
            queryset = queryset.filter(**{shop_field: self.shop_id})
        if self.shop_ids is not None:
            queryset = queryset.filter(**{f"{shop_field}__in": self.shop_ids})
        return queryset


def current_since() -> datetime | None:
    period = MetricsPeriod.objects.order_by("-since").first()
    return period.since if period else None


def reset(now: datetime | None = None) -> datetime:
    """A new counting period; history stays where it is."""
    return MetricsPeriod.objects.create(since=now or timezone.now()).since


def window(shop_id: int | None = None, days: int | None = None, now: datetime | None = None,
           shop_ids: list[int] | None = None) -> Window:
    """The current period, or the last `days` days when asked (across a reset); `shop_ids`
    limits it to a merchant's shops."""
    now = now or timezone.now()
    since = current_since()
    start = now - timedelta(days=days) if days else since
    return Window(since=since, start=start, end=now, shop_id=shop_id,
                  shop_ids=tuple(shop_ids) if shop_ids is not None else None)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.SELLER_TIMEZONE)  # days are the merchants' days


def group_key(by: str | None, on_events: bool, moment: str):
    """The GROUP BY expression for events (through `message__`) or for rows."""
    prefix = "message__" if on_events else ""
    if by == "shop":
        return F(prefix + "shop_id")
    if by == "trigger":
        return F(prefix + "trigger")
    if by == "day":
        return TruncDate(moment, tzinfo=local_zone())
    return None


def grouped(queryset, key, **aggregates) -> dict:
    """{group: {name: value}}; the whole queryset is the group None when there is no key."""
    if key is None:
        return {None: queryset.aggregate(**aggregates)}
    # order_by() clears the models' default ordering, which would split the groups.
    return {row.pop("group"): row for row in queryset.order_by().values(group=key).annotate(**aggregates)}


def collect(win: Window, by: str | None) -> dict:
    """{group: figures} for one grouping (None: the whole window)."""
    events = win.rows(MessageEvent.objects.all(), "at", "message__shop_id")
    event_key = group_key(by, True, "at")
    outcomes = grouped(
        events, event_key,
        **{name: Count("message", distinct=True, filter=Q(status__in=statuses)) for name, statuses in OUTCOMES.items()},
    )
    reasons = {}
    fields = {"reason": F("message__reason"), **({"group": event_key} if event_key is not None else {})}
    reason_rows = events.filter(status__in=WITH_REASON).order_by().values("status", **fields)
    for row in reason_rows.annotate(n=Count("message", distinct=True)):
        group = reasons.setdefault(row.get("group"), {})
        group.setdefault(row["status"], {})[row["reason"] or "unspecified"] = row["n"]

    rows = win.rows(OutboundMessage.objects.all(), "generated_at")
    generation = grouped(
        rows, group_key(by, False, "generated_at"),
        generated=Count("pk"),
        fallback=Count("pk", filter=Q(source=OutboundMessage.Source.FALLBACK)),
        repair_asked=Count("pk", filter=~Q(repair_reason="")),
        repaired=Count("pk", filter=~Q(repair_reason="") & Q(source=OutboundMessage.Source.AI)),
        latency_avg_ms=Avg("generation_ms"),
        latency_max_ms=Max("generation_ms"),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
    )
    replied_rows = win.rows(OutboundMessage.objects.all(), "replied_at")
    replies = grouped(replied_rows, group_key(by, False, "replied_at"), replied=Count("pk"))

    groups = set(outcomes) | set(reasons) | set(generation) | set(replies)
    return {
        group: figures(outcomes.get(group, {}), reasons.get(group, {}), generation.get(group, {}), replies.get(group, {}))
        for group in groups
    }


GROUPINGS = (None, "shop", "trigger", "day")


def collect_all(win: Window) -> dict:
    """{grouping: collect(win, grouping)} for the four groupings, the events read once
    (PostgreSQL; elsewhere each grouping is counted on its own)."""
    if connection.vendor != "postgresql":
        return {by: collect(win, by) for by in GROUPINGS}
    outcomes, reasons = outcomes_in_one_pass(win)
    generation = rows_in_one_pass(win, "generated_at", GENERATION_SQL)
    replies = rows_in_one_pass(win, "replied_at", "COUNT(*) AS replied")
    collected = {}
    for by in GROUPINGS:
        groups = set(outcomes[by]) | set(generation[by]) | set(replies[by]) | ({None} if by is None else set())
        collected[by] = {
            group: figures(outcomes[by].get(group, {}), reasons[by].get(group, {}), generation[by].get(group, {}),
                           replies[by].get(group, {}))
            for group in groups
        }
    return collected


# What `collect` reads from the rows generated in the window, as SQL.
GENERATION_SQL = f"""COUNT(*) AS generated, COUNT(*) FILTER (WHERE source = '{OutboundMessage.Source.FALLBACK}') AS fallback,
    COUNT(*) FILTER (WHERE repair_reason <> '') AS repair_asked,
    COUNT(*) FILTER (WHERE repair_reason <> '' AND source = '{OutboundMessage.Source.AI}') AS repaired,
    AVG(generation_ms) AS latency_avg_ms, MAX(generation_ms) AS latency_max_ms,
    SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens"""
# GROUPING(shop_id, trigger, day) of each grouping set: a bit for each column not grouped by.
GROUPING_BITS = {7: None, 3: "shop", 5: "trigger", 6: "day"}


def rows_in_one_pass(win: Window, moment: str, aggregates: str) -> dict:
    """{grouping: {group: {name: value}}} of the outbox rows whose `moment` is in the window."""
    where = [f"{moment} <= %(end)s"]
    if win.start:
        where.append(f"{moment} >= %(start)s")
    if win.shop_id:
        where.append("shop_id = %(shop_id)s")
    if win.shop_ids is not None:
        where.append("shop_id = ANY(%(shop_ids)s)")
    sql = f"""
        SELECT GROUPING(shop_id, trigger, day), shop_id, trigger, (day AT TIME ZONE %(zone)s)::date, {aggregates}
        FROM (SELECT *, {local_day_sql(moment)} AS day FROM {OutboundMessage._meta.db_table}
              WHERE {" AND ".join(where)}) windowed
        GROUP BY GROUPING SETS ((), (shop_id), (trigger), (day))"""
    params = {"start": win.start, "end": win.end, "shop_id": win.shop_id,
              "shop_ids": list(win.shop_ids) if win.shop_ids is not None else None, **day_params(win)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description[4:]]
        found = {by: {} for by in GROUPINGS}
        for bits, shop_id, trigger, day, *values in cursor.fetchall():
            by = GROUPING_BITS[bits]
            group = {None: None, "shop": shop_id, "trigger": trigger, "day": day}[by]
            found[by][group] = dict(zip(names, values))
    return found


def outcomes_in_one_pass(win: Window) -> tuple[dict, dict]:
    """What `collect` counts from the events, for every grouping at once: ({grouping: {group:
    {outcome: n}}}, {grouping: {group: {status: {reason: n}}}}), read from the per-message summary
    (`messaging.outcomes`): one row per message and outcome instead of one per event."""
    with connection.cursor() as cursor:
        cursor.execute(*outcomes_query(win))
        rows = cursor.fetchall()
    zone = local_zone()
    outcomes = {by: {} for by in GROUPINGS}
    reasons = {by: {} for by in GROUPINGS}
    first_at = None
    for bits, shop_id, trigger, day, name, reason, n, earliest in rows:
        per_day = bits == 6  # grouped by day: GROUPING(shop_id, trigger, day) has the shop and trigger bits
        if per_day and day is None:
            continue  # on several days: counted from its events
        groups = [("day", day)] if per_day else [(None, None), ("shop", shop_id), ("trigger", trigger)]
        for by, group in groups:
            counted = outcomes[by].setdefault(group, {})  # any event makes its group exist
            if name in OUTCOMES:
                counted[name] = counted.get(name, 0) + n
            if reason is not None:  # blocked or failed, by its row's reason
                by_reason = reasons[by].setdefault(group, {}).setdefault(name, {})
                by_reason[reason or "unspecified"] = by_reason.get(reason or "unspecified", 0) + n
        if name == message_outcomes.ANY and not per_day:
            first_at = min(first_at, earliest) if first_at else earliest
    if first_at and not win.start:  # the days are listed from the first one with any event
        outcomes["day"].setdefault(first_at.astimezone(zone).date(), {})
    return outcomes, reasons


# How far back `steady_since` looks for a change of the clocks (older days: PostgreSQL's conversion).
STEADY_DAYS_CHECKED = 3660


def local_day_sql(moment: str) -> str:
    """SQL: the local midnight (SELLER_TIMEZONE) that starts the day of `moment`, as a moment, with
    `day_params`. Whole days counted from a local midnight (`date_bin`: arithmetic) since the
    clocks last changed; before that, PostgreSQL's conversion (several times dearer per row)."""
    return (f"CASE WHEN {moment} >= %(steady_since)s THEN date_bin('1 day', {moment}, %(steady_since)s) "
            f"ELSE date_trunc('day', {moment}, %(zone)s) END")


def day_params(win: Window) -> dict:
    zone = local_zone()
    return {"steady_since": steady_since(settings.SELLER_TIMEZONE, win.end.astimezone(zone).date()),
            "zone": settings.SELLER_TIMEZONE}


@lru_cache(maxsize=64)
def steady_since(zone_name: str, last: date) -> datetime:
    """The earliest local midnight from which every day up to `last` lasts 24 hours (the day after
    `last` when `last` itself does not): from it, a day is a whole number of 24 hours."""
    zone = ZoneInfo(zone_name)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=zone)

    def lasts_a_day(day: date) -> bool:
        return midnight(day + timedelta(days=1)).timestamp() - midnight(day).timestamp() == 86400

    if not lasts_a_day(last):
        return midnight(last + timedelta(days=1))
    first = last
    for _ in range(STEADY_DAYS_CHECKED):
        if not lasts_a_day(first - timedelta(days=1)):
            break
        first -= timedelta(days=1)
    return midnight(first)


def outcomes_query(win: Window) -> tuple[str, dict]:
    """The SQL of `outcomes_in_one_pass` and its parameters. A message has an outcome in the window
    when its first or last time is in it; only when the two lie on both sides of the window are
    its events asked. Per day: a message whose outcome happened on one day counts on that day;
    the few with it on several days are counted from their events."""
    summary, events, outbox = (MessageOutcome._meta.db_table, MessageEvent._meta.db_table,
                               OutboundMessage._meta.db_table)
    where, in_window = ["s.first_at <= %(end)s"], "e.at <= %(end)s"
    if win.start:
        where.append("s.last_at >= %(start)s")
        in_window += " AND e.at >= %(start)s"
    if win.shop_id:
        where.append("s.shop_id = %(shop_id)s")
    if win.shop_ids is not None:
        where.append("s.shop_id = ANY(%(shop_ids)s)")
    found = f"SELECT s.* FROM {summary} s WHERE {' AND '.join(where)}"
    if win.start:  # first or last time in the window; else both outside it: ask the events between
        found = f"""{found} AND (s.first_at >= %(start)s OR s.last_at <= %(end)s)
            UNION ALL
            {found} AND s.first_at < %(start)s AND s.last_at > %(end)s AND EXISTS (
                SELECT 1 FROM {events} e JOIN outcome_status k ON k.status = e.status AND k.outcome = s.outcome
                WHERE e.message_id = s.message_id AND {in_window})"""
    with_reason = ", ".join(f"'{status}'" for status in WITH_REASON)
    # Per day, a message whose outcome happened on one day counts on that day (NULL: on several
    # days, or `any`, which is not counted per day).
    one_day = f"""CASE WHEN s.outcome <> %(any)s AND {local_day_sql("s.first_at")} = {local_day_sql("s.last_at")}
                       THEN {local_day_sql("s.first_at")} END"""
    # A blocked or failed outcome's reason: its row's (NULL for the other outcomes).
    reason = f"""CASE WHEN s.outcome IN ({with_reason})
                      THEN (SELECT m.reason FROM {outbox} m WHERE m.id = s.message_id) END"""
    sql = f"""
        WITH outcome_status(status, outcome) AS (VALUES {message_outcomes.pairs_sql()}),  -- `any`: every status
        found AS NOT MATERIALIZED (
            SELECT s.message_id, s.shop_id, s."trigger", s.outcome, s.first_at, {one_day} AS day FROM ({found}) s
        ), on_several_days AS MATERIALIZED (
            SELECT message_id, outcome FROM found WHERE day IS NULL AND outcome <> %(any)s
        )
        SELECT GROUPING(shop_id, "trigger", day), shop_id, "trigger", (day AT TIME ZONE %(zone)s)::date, outcome, reason,
               COUNT(*), CASE WHEN outcome = %(any)s THEN MIN(first_at) END
        FROM (SELECT s.*, {reason} AS reason FROM found s) s
        GROUP BY GROUPING SETS ((shop_id, "trigger", outcome, reason), (day, outcome, reason))
        UNION ALL
        SELECT 6, NULL, NULL, (s.day AT TIME ZONE %(zone)s)::date, s.outcome, {reason}, COUNT(*), NULL
        FROM (SELECT DISTINCT s.message_id, s.outcome, {local_day_sql("e.at")} AS day
              FROM on_several_days s JOIN {events} e ON e.message_id = s.message_id
                   JOIN outcome_status k ON k.status = e.status AND k.outcome = s.outcome
              WHERE {in_window}) s
        GROUP BY 4, 5, 6"""
    return sql, {"start": win.start, "end": win.end, "shop_id": win.shop_id, "any": message_outcomes.ANY,
                 "shop_ids": list(win.shop_ids) if win.shop_ids is not None else None, **day_params(win)}


def figures(outcomes: dict, reasons: dict, generation: dict, replies: dict) -> dict:
    counts = {name: outcomes.get(name) or 0 for name in OUTCOMES}
    blocked = dict(sorted(reasons.get(Status.BLOCKED, {}).items()))
    failed_by_reason = dict(sorted(reasons.get(Status.FAILED, {}).items()))
    generated, fallback = generation.get("generated") or 0, generation.get("fallback") or 0
    attempted = counts["sent"] + counts["failed"] + counts["unknown"]
    prompt_tokens, completion_tokens = generation.get("prompt_tokens") or 0, generation.get("completion_tokens") or 0
    latency_avg = generation.get("latency_avg_ms")
    return {
        **counts,
        "replied": replies.get("replied") or 0,
        "blocked": blocked,
        "blocked_total": sum(blocked.values()),
        "failed_by_reason": failed_by_reason,
        "generated": generated,
        "fallback": fallback,
        "fallback_share": ratio(fallback, generated),
        # one repair before the fallback: asked for, and sent as repaired
        "repairs": {"asked": generation.get("repair_asked") or 0, "repaired": generation.get("repaired") or 0},
        "success_rate": ratio(counts["sent"], attempted),
        "generation_latency_ms": {
            "avg": round(latency_avg) if latency_avg is not None else None,
            "max": generation.get("latency_max_ms"),
        },
        "tokens": {
            "prompt": prompt_tokens,
            "completion": completion_tokens,
            "cost_usd": round(
                prompt_tokens * settings.OPENAI_INPUT_PRICE_PER_1M / 1e6
                + completion_tokens * settings.OPENAI_OUTPUT_PRICE_PER_1M / 1e6,
                6,
            ),
        },
    }


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def p95_latency(win: Window) -> int | None:
    """The 95th percentile of generation time, read at its offset (works on any database)."""
    rows = win.rows(OutboundMessage.objects.filter(generation_ms__isnull=False), "generated_at")
    total = rows.count()
    if not total:
        return None
    return rows.order_by("generation_ms").values_list("generation_ms", flat=True)[int(0.95 * (total - 1))]


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@contextmanager
def for_aggregates():
    """PostgreSQL settings for these few large aggregates, for this transaction only: no JIT (it
    compiles each query anew, which cost more than it saved: bench/metrics.py) and the memory to
    group a year of customers without spilling to disk."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def summary(win: Window) -> dict:
    """Everything `GET /ai-seller/metrics` and the dashboard show."""
    beside = can_count_beside()
    with for_aggregates():
        return count_all(win, beside)


def can_count_beside() -> bool:
    """A second connection sees what this one sees only when this one is in no transaction yet
    (PostgreSQL, autocommit): then the lift's groups are counted beside the outbox figures."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def counted_beside(function, *args):
    """`function(*args)` in a thread, on a database connection of its own (closed after)."""
    def run():
        try:
            with for_aggregates():
                return function(*args)
        finally:
            connection.close()

    return run


def count_all(win: Window, beside: bool = False) -> dict:
    """The figures; with `beside`, the sales figures (the lift's groups, attribution, variant
    sends) on a second connection meanwhile (two CPUs, two PostgreSQL backends: the answer takes
    the longer of the two halves, not their sum; the halves cost about the same: bench/metrics.py)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        sold = pool.submit(counted_beside(sales.report, win)) if beside else None
        collected = collect_all(win)
        total = collected[None][None]
        total["generation_latency_ms"]["p95"] = p95_latency(win)
        sold = sold.result() if sold else sales.report(win)

    by_shop = collected["shop"]
    names = dict(Shop.objects.filter(pk__in=[pk for pk in set(by_shop) | set(sold["by_shop"]) if pk])
                 .values_list("pk", "name"))
    by_trigger = collected["trigger"]
    by_day = collected["day"]
    zero = figures({}, {}, {}, {})
    if by_day or sold["by_day"] or win.start:
        first = win.start.astimezone(local_zone()).date() if win.start else min(set(by_day) | set(sold["by_day"]))
        last = win.end.astimezone(local_zone()).date()
        by_day = {day: by_day.get(day, zero) for day in days_between(first, last)}

    no_sales = sales.effect(sales.EMPTY, sales.EMPTY) | {"attribution": sales.attribution_figures(None)}
    no_day = sales.attribution_figures(None)
    return {
        "since": win.since,
        "from": win.start,
        "to": win.end,
        "shop": win.shop_id,
        **total,
        "conversations": conversations(win),
        **sold["total"],
        "by_shop": [{"shop_id": pk, "shop_name": names.get(pk, ""), **by_shop.get(pk, zero),
                     **sold["by_shop"].get(pk, no_sales)} for pk in sorted(set(by_shop) | set(sold["by_shop"]))],
        "by_trigger": [{"trigger": trigger, **by_trigger.get(trigger, zero), **sold["by_trigger"].get(trigger, no_sales)}
                       for trigger in sorted(set(by_trigger) | set(sold["by_trigger"]))],
        "by_variant": sold["by_variant"],
        "by_day": [{"date": day, **by_day[day], "attribution": sold["by_day"].get(day, no_day)} for day in sorted(by_day)],
    }


def conversations(win: Window) -> dict:
    """Customers' replies and what became of them, from the rows that record it: replies handled
    (by outcome and class), answered automatically, handoffs opened and closed, time from the
    customer's reply to our first message back, and from a handoff's opening to its close."""
    handled = win.rows(HandledReply.objects.all(), "handled_at")
    by_outcome = dict(handled.order_by().values_list("outcome").annotate(n=Count("pk")))
    by_label = dict(handled.order_by().values_list("label").annotate(n=Count("pk")))
    answers = win.rows(Answer.objects.filter(kind__in=(Answer.Kind.ANSWER, Answer.Kind.ACK), first_reply_at__isnull=False),
                       "sent_at")
    opened = win.rows(Handoff.objects.all(), "opened_at")
    closed = win.rows(Handoff.objects.all(), "closed_at")
    still_open = Handoff.objects.filter(status=Handoff.Status.OPEN)
    if win.shop_id:
        still_open = still_open.filter(shop_id=win.shop_id)
    if win.shop_ids is not None:  # a merchant's shops only
        still_open = still_open.filter(shop_id__in=win.shop_ids)
    return {
        "replies": sum(by_outcome.values()),
        "by_outcome": dict(sorted(by_outcome.items())),
        "by_class": dict(sorted(by_label.items())),
        "answered_automatically": by_outcome.get(HandledReply.Outcome.ANSWERED, 0),
        "handed_off": opened.count(),
        "handoffs_by_reason": dict(sorted(opened.order_by().values_list("reason").annotate(n=Count("pk")))),
        "handoffs_open": still_open.count(),
        "handoffs_closed": closed.count(),
        "first_answer_seconds": seconds(answers, F("sent_at") - F("first_reply_at")),
        "handoff_close_seconds": seconds(closed, F("closed_at") - F("opened_at")),
    }


def seconds(rows, duration) -> dict:
    found = rows.order_by().aggregate(avg=Avg(duration), max=Max(duration))
    return {key: round(value.total_seconds()) if value is not None else None for key, value in found.items()}
