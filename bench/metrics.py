"""Benchmark: `GET /ai-seller/metrics` over a year of a large shop (200,000 orders, 100,000 messages).

    python bench/metrics.py            (or: make bench)

Uses its own PostgreSQL database (BENCH_METRICS_DATABASE_URL, default .../aiseller_bench_metrics,
dropped and created afresh; its name must contain "bench") and BENCH_REDIS_URL (default DB 15; only
read by the app's settings here). Writes a year of history by COPY: orders of 40,000 customers, an
outbox row for half of them with its status history (events, summarised by PostgreSQL's trigger as
they are written), a 10 % holdout, two variants, and the orders credited to messages; then asks the
endpoint for all history, the last 30 days and one shop, BENCH_ROUNDS times (5) each, "before" (the
plain path: every outbox grouping counted from the events on its own, every sales grouping a query
of its own, one connection) and "after" (the outcome summary, the lift's groups in one query on a second
connection) taking turns, and keeps the medians, the load average, and PostgreSQL's plans
(EXPLAIN ANALYZE, BUFFERS) of the heaviest queries in bench/results/metrics.json. Both paths' answers
are compared.

BENCH_APP_DIR: another checkout's code to measure (e.g. main, for "before"), with BENCH_REUSE=1 on
the data of the last run; BENCH_METRICS_OUT: where to write the results (default the file above).
"""

import json
import os
import platform
import random
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
APP = Path(os.environ.get("BENCH_APP_DIR", ROOT)).resolve()
sys.path.insert(0, str(APP))
import fresh_db  # noqa: E402  (a sibling module: benchmarks run as `python bench/NAME.py`)
DATABASE_URL = os.environ.get("BENCH_METRICS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aiseller_bench_metrics")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.update(DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL, CELERY_BROKER_URL=REDIS_URL,
                  DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Zq3mJ2l3oWcD6bq0y1o0e9V8rY3bHq2hYw5x9m8kQ2c=")

ORDERS, MESSAGES, CUSTOMERS, DAYS = 200_000, 100_000, 40_000, 365
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TARGET_SECONDS = 1.0
RESULTS = Path(os.environ.get("BENCH_METRICS_OUT", ROOT / "bench" / "results" / "metrics.json"))




def seed(now):
    """A year of one shop, written as the sync and the pipeline write it."""
    from django.db import connection

    from config.bulk import insert_rows
    from kaspi_sync.models import Order, Shop
    from messaging.models import MessageEvent, OutboundMessage
    from seller.attribution import attribute_orders

    rng = random.Random(16)
    shop = Shop.objects.create(name="Large shop", kaspi_token="bench-metrics-token")
    phones = [f"+7701{n:07d}" for n in range(CUSTOMERS)]
    orders = []
    for n in range(ORDERS):
        created = now - timedelta(days=rng.uniform(0, DAYS))
        state = rng.choices(["delivered", "cancelled", "returned", "accepted"], weights=[88, 7, 2, 3])[0]
        orders.append((shop.pk, f"B{n}", str(300_000_000 + n), state, Decimal(rng.randrange(2_000, 90_000)),
                       created, created + timedelta(days=2) if state == "delivered" else None,
                       rng.choice(phones), "Айгерим", "", "", "", "", "", "", now, now))
    names = ["shop_id", "kaspi_id", "code", "state", "total_price", "created_at_kaspi", "delivered_at",
             "customer_phone", "customer_first_name", "customer_last_name", "kaspi_state", "kaspi_status",
             "cancellation_reason", "delivery_mode", "pickup_point_id", "first_seen_at", "updated_at"]
    order_ids = insert_rows(Order, names, orders, return_ids=True)

    rows, histories = [], []
    for index in rng.sample(range(ORDERS), MESSAGES):
        order = orders[index]
        trigger = "ORDER_DELIVERED" if order[6] and rng.random() < 0.4 else "POST_PURCHASE"
        at = (order[6] if trigger == "ORDER_DELIVERED" else order[5]) + timedelta(minutes=rng.uniform(1, 600))
        roll = rng.random()
        variant = rng.choice(["short", "warm"]) if trigger == "POST_PURCHASE" else ""
        fields = dict(status="read", reason="", sent_at=at, delivered_at=at + timedelta(minutes=1), variant=variant,
                      source="ai", generated_at=at, generation_ms=rng.randint(500, 3000), prompt_tokens=450,
                      completion_tokens=90, replied_at=at + timedelta(hours=1) if rng.random() < 0.08 else None)
        moves = ["pending", "approved", "generated", "sending", "sent", "delivered", "read"]
        if roll < 0.10:
            fields = dict(status="blocked", reason="holdout", variant="")
            moves = ["pending", "blocked"]
        elif roll < 0.15:
            fields = dict(status="blocked", reason=rng.choice(["opt_out", "cap", "no_whatsapp"]), variant="")
            moves = ["pending", "blocked"]
        elif roll < 0.18:
            fields.update(status="failed", reason="waha_http_400", sent_at=None, delivered_at=None, replied_at=None)
            moves = ["pending", "approved", "generated", "sending", "failed"]
        elif roll < 0.40:
            fields.update(status="sent", delivered_at=None)
            moves = moves[:5]
        row = dict(shop_id=shop.pk, order_id=order_ids[index], trigger=trigger, phone=order[7], created_at=at,
                   updated_at=at, not_before=None, reserved_at=None, text="", fallback_reason="", chat_id="",
                   waha_message_id="", attempts=1, last_error="", generated_at=None, sent_at=None,
                   delivered_at=None, read_at=None, replied_at=None, prompt_tokens=None, completion_tokens=None,
                   generation_ms=None, source="", variant="", waha_raw_id="", first_reply="",
                   repair_reason="", second_reply="")
        row.update(fields)
        rows.append(row)
        histories.append([(status, at + timedelta(seconds=step)) for step, status in enumerate(moves)])
    names = list(rows[0])
    message_ids = insert_rows(OutboundMessage, names, [[row[name] for name in names] for row in rows], return_ids=True)
    events = [(pk, status, "", at) for pk, history in zip(message_ids, histories) for status, at in history]
    insert_rows(MessageEvent, ["message_id", "status", "note", "at"], events)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would after a load: without statistics the plans are blind
    credited = attribute_orders(now, since=now - timedelta(days=DAYS + 1))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would: the visibility map lets index-only scans skip the table
    return shop, len(events), credited


@contextmanager
def the_plain_path():
    """The endpoint counted the plain way: every outbox grouping from the events on its own, every
    sales grouping a query of its own."""
    from seller.ops import metrics, sales

    saved = metrics.collect_all, sales.all_groups, metrics.can_count_beside
    metrics.collect_all = lambda win: {by: metrics.collect(win, by) for by in metrics.GROUPINGS}
    sales.all_groups = sales.groups_each_on_its_own
    metrics.can_count_beside = lambda: False  # one connection, one query after the other
    try:
        yield
    finally:
        metrics.collect_all, sales.all_groups, metrics.can_count_beside = saved


def timed(client, url):
    """Seconds of one request, and its answer."""
    started = time.perf_counter()
    response = client.get(url, secure=True)  # as behind HTTPS: no redirect
    seconds = time.perf_counter() - started
    assert response.status_code == 200, (response.status_code, response.content[:300])
    return seconds, response.json()


def explained(sql, params) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return [row[0] for row in cursor.fetchall()]


def plans(now, shop_id):
    """PostgreSQL's plans of the heaviest queries, after and before."""
    from django.db.models import Count

    from seller.ops import metrics, sales

    everything = metrics.Window(since=None, start=None, end=now)
    one_shop = metrics.Window(since=None, start=now - timedelta(days=DAYS), end=now, shop_id=shop_id)
    with metrics.for_aggregates():
        found = {
            "after: outbox outcomes from the summary, all history": explained(*metrics.outcomes_query(everything)),
            "after: outbox outcomes from the summary, one shop, 365 days": explained(*metrics.outcomes_query(one_shop)),
            "sales groups in one query from the orders (main's; now the fallback), all history": explained(
                *sales.one_pass_query(everything)),
            "before: lift per variant (one of the five sales queries), all history": explained(
                *sales.groups_query("messaged", everything, ("trigger", "variant"), ("trigger", "variant"))),
        }
        if hasattr(sales, "reached_query"):  # this change: the lift from the figures kept per reached message
            found["after: sales groups from the stored figures, all history"] = explained(*sales.reached_query(everything))
            found["after: sales groups from the stored figures, one shop, 365 days"] = explained(
                *sales.reached_query(one_shop))
        attributed = (sales.attribution.counted_orders().filter(attributed_to__isnull=False, created_at_kaspi__lte=now)
                      .order_by().values("attributed_to__trigger").annotate(n=Count("pk")).explain(analyze=True))
    found["both: attribution per trigger"] = attributed.splitlines()
    return found


def event_insert_microseconds(with_summary: bool, inserts: int = 2000) -> float:
    """What writing one status event costs, with the summary's trigger or without it (disabled for
    the measurement); rolled back, so the data stays as it was."""
    from django.db import connection, transaction

    from messaging import outcomes

    class Undo(Exception):
        pass

    ids = []
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM messaging_outboundmessage ORDER BY random() LIMIT %s", [inserts])
            ids = [pk for (pk,) in cursor.fetchall()]
            if not with_summary:
                cursor.execute(f"ALTER TABLE messaging_messageevent DISABLE TRIGGER {outcomes.TRIGGER}")
            started = time.perf_counter()
            for n, pk in enumerate(ids):
                cursor.execute("INSERT INTO messaging_messageevent (message_id, status, note, at) VALUES (%s, %s, '', now())",
                               [pk, ("deferred", "sent", "read", "pending")[n % 4]])
            took = time.perf_counter() - started
            raise Undo
    except Undo:
        pass
    return round(took / len(ids) * 1e6, 1)


def reached_triggers_exist() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_trigger WHERE tgname LIKE %s", ["seller_reached_%"])
        return cursor.fetchone()[0] > 0


def write_microseconds(case: str, with_triggers: bool, writes: int = 500) -> float:
    """What one write of `case` costs with the lift figures' triggers (seller.reached) or without
    them (disabled for the measurement); rolled back, so the data stays as it was.
    - "move outside the arms": an outbox row moved as the pipeline moves it before sending (the
      triggers' WHEN clause says no: nothing is called);
    - "message sent": an outbox row that becomes sent (enters the messaged arm: its figures counted);
    - "order of a reached customer" / "order of another customer": an order inserted (as the
      sync does) for a customer with messages in the window before it, or for a random phone."""
    from django.db import connection, transaction

    class Undo(Exception):
        pass

    took = None
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if not with_triggers:
                cursor.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgname LIKE %s",
                               ["seller_reached_%"])
                for table, name in cursor.fetchall():
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
            if case in ("move outside the arms", "message sent"):
                cursor.execute("SELECT id FROM messaging_outboundmessage WHERE status = 'failed' ORDER BY random() LIMIT %s",
                               [writes])
                ids = [pk for (pk,) in cursor.fetchall()]
                sql = ("UPDATE messaging_outboundmessage SET status = 'pending', updated_at = now() WHERE id = %s"
                       if case == "move outside the arms" else
                       "UPDATE messaging_outboundmessage SET status = 'sent', sent_at = now() - interval '3 days', "
                       "updated_at = now() WHERE id = %s")
                params = [[pk] for pk in ids]
            else:
                cursor.execute("SELECT shop_id FROM kaspi_sync_order LIMIT 1")
                (shop_id,) = cursor.fetchone()
                if case == "order of a reached customer":
                    cursor.execute("SELECT phone, moment FROM seller_reachedmessage ORDER BY random() LIMIT %s", [writes])
                    customers = [(phone, moment + timedelta(days=1)) for phone, moment in cursor.fetchall()]
                else:
                    cursor.execute("SELECT now() - interval '10 days'")
                    (moment,) = cursor.fetchone()
                    customers = [(f"+7702{n:07d}", moment) for n in range(writes)]
                sql = """INSERT INTO kaspi_sync_order (shop_id, kaspi_id, code, state, total_price, created_at_kaspi,
                             customer_phone, customer_first_name, customer_last_name, kaspi_state, kaspi_status,
                             cancellation_reason, delivery_mode, pickup_point_id, first_seen_at, updated_at)
                         VALUES (%s, %s, %s, 'accepted', 10000, %s, %s, '', '', '', '', '', '', '', now(), now())"""
                params = [[shop_id, f"W{n}", str(900_000_000 + n), moment, phone]
                          for n, (phone, moment) in enumerate(customers)]
            started = time.perf_counter()
            for row in params:
                cursor.execute(sql, row)
            took = (time.perf_counter() - started) / len(params)
            raise Undo
    except Undo:
        pass
    return round(took * 1e6, 1)


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def main():
    reuse = os.environ.get("BENCH_REUSE") == "1"  # measure again on the data of the last run
    if not reuse:
        fresh_db.recreate(DATABASE_URL)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework.test import APIClient

    call_command("migrate", verbosity=0)
    now = timezone.now()
    started = time.perf_counter()
    if reuse:
        from kaspi_sync.models import Order, Shop
        from messaging.models import MessageEvent

        shop, events = Shop.objects.get(), MessageEvent.objects.count()
        credited = Order.objects.filter(attributed_to__isnull=False).count()
    else:
        shop, events, credited = seed(now)
    seeding = time.perf_counter() - started
    settings.ALLOWED_HOSTS.append("testserver")  # the test client's host name
    client = APIClient()
    user = get_user_model().objects.filter(username="bench").first()
    client.force_authenticate(user or get_user_model().objects.create_superuser("bench", "bench@example.kz", "bench"))
    client.get("/ai-seller/metrics?days=1", secure=True)  # the first request loads the app's code
    cases = {"all history": "/ai-seller/metrics", "last 30 days": "/ai-seller/metrics?days=30",
             "one shop, last 365 days": f"/ai-seller/metrics?shop={shop.pk}&days=365"}
    load_before = load_average()
    seconds = {path: {name: [] for name in cases} for path in ("before", "after")}
    answers = {}
    for _ in range(ROUNDS):  # the two paths take turns, so that both see the same load
        for name, url in cases.items():
            with the_plain_path():
                seconds["before"][name].append(timed(client, url)[0])
            took, answers[name] = timed(client, url)
            seconds["after"][name].append(took)
    load_after = load_average()

    from seller.ops import metrics, sales

    asked_at = timezone.now()  # the same moment for both paths: a window's edge moves with the clock
    windows = {"all history": metrics.Window(since=None, start=None, end=asked_at),
               "last 30 days": metrics.Window(since=None, start=asked_at - timedelta(days=30), end=asked_at),
               "one shop, last 365 days": metrics.Window(since=None, start=asked_at - timedelta(days=365),
                                                         end=asked_at, shop_id=shop.pk)}
    for name, win in windows.items():  # the same figures both ways (tests/api/test_metrics_fast.py checks it too)
        with the_plain_path():
            plain_answer = metrics.summary(win)
        assert plain_answer == metrics.summary(win), f"the two paths disagree: {name}"

    everything = metrics.Window(since=None, start=None, end=timezone.now())
    parts = {}
    plain_collect = lambda win: {by: metrics.collect(win, by) for by in metrics.GROUPINGS}  # noqa: E731
    for name, part in (("outbox figures, each grouping from the events on its own (before)", plain_collect),
                       ("outbox figures from the summary (after)", metrics.collect_all),
                       ("sales groups, a query each (before)", sales.groups_each_on_its_own),
                       ("sales groups in one query from the orders (main's, now the fallback)",
                        sales.groups_in_one_pass),
                       *([("sales groups from the stored figures (after)", sales.groups_from_reached)]
                         if hasattr(sales, "groups_from_reached") else []),
                       ("does it sell, all of it (sales.report, after)", sales.report)):
        took = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            with metrics.for_aggregates():
                part(everything)
            took.append(time.perf_counter() - started)
        parts[name] = round(median(took), 3)
    inserts = {"with the summary's trigger": [], "without it": []}
    for _ in range(3):
        inserts["without it"].append(event_insert_microseconds(False))
        inserts["with the summary's trigger"].append(event_insert_microseconds(True))
    writes = {}
    if reached_triggers_exist():
        for case in ("move outside the arms", "message sent", "order of a reached customer", "order of another customer"):
            found = {"without the lift triggers": [], "with them": []}
            for _ in range(5):  # taking turns, as the load on this machine moves
                found["without the lift triggers"].append(write_microseconds(case, False))
                found["with them"].append(write_microseconds(case, True))
            writes[case] = {name: median(values) for name, values in found.items()}
    medians = {path: {name: round(median(values), 3) for name, values in by_case.items()}
               for path, by_case in seconds.items()}
    result = {
        "orders": ORDERS, "messages": MESSAGES, "events": events, "customers": CUSTOMERS,
        "credited_orders": credited, "rounds": ROUNDS, "target_seconds": TARGET_SECONDS,
        "seconds_median": medians["after"],
        "seconds_median_before": medians["before"],
        "seconds_all": seconds,
        "load_average_1_5_15_min": {"before the requests": load_before, "after them": load_after},
        "parts_all_history_seconds_median": parts,
        "event_insert_microseconds_median": {name: median(values) for name, values in inserts.items()},
        "write_microseconds_median": writes,
        "figures_all_history": {key: answers["all history"][key]
                                for key in ("sent", "attribution", "messaged", "holdout", "lift")},
        "plans": plans(now, shop.pk),
        "seed_seconds": round(seeding, 1),
        "machine": f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs",
        "code": "this checkout" if APP == ROOT else f"{APP.name} (BENCH_APP_DIR)",
        "measured_at": timezone.now().isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"all history, by part: {parts}")
    for name, after in medians["after"].items():
        print(f"GET /ai-seller/metrics, {name}: {after} s, before {medians['before'][name]} s "
              f"(median of {ROUNDS}; target < {TARGET_SECONDS} s)")
    print(f"writing a status event: {result['event_insert_microseconds_median']} µs")
    for case, found in writes.items():
        print(f"write, {case}: {found} µs")
    print(f"load average (1, 5, 15 min): {load_before} before the requests, {load_after} after")
    print(f"-> {RESULTS}")


if __name__ == "__main__":
    main()
