"""What `GET /ai-seller/status` reports: is each part of the system up?"""

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from config import redis
from config.celery_app import app
from config.logging import redact
from kaspi_sync.models import Shop
from messaging import webhook
from messaging.models import OutboundMessage
from messaging.waha import WahaClient, WahaError
from seller import reached

Status = OutboundMessage.Status
# Statuses a row waits in until the pipeline (or, for `unknown`, the reconciler) moves it on.
WAITING = (Status.PENDING, Status.APPROVED, Status.GENERATED, Status.SENDING, Status.UNKNOWN, Status.DEFERRED)

CRITICAL = ("database", "redis", "broker")  # without these nothing works: the status is 503


def check(probe) -> dict:
    try:
        return {"ok": True, **(probe() or {})}
    except Exception as exc:  # a status page reports every failure, whatever its kind
        return {"ok": False, "error": redact(f"{type(exc).__name__}: {exc}")[:300]}


def database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def redis_ping():
    redis.client().ping()


def broker():
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)


def workers() -> dict:
    replies = app.control.ping(timeout=1.0) or []
    return {"seen": sorted(name for reply in replies for name in reply)}


def shops_of(shop_ids: list[int] | None):
    shops = Shop.objects.all()
    return shops if shop_ids is None else shops.filter(pk__in=shop_ids)


def waha_sessions(with_shops: bool, shop_ids: list[int] | None = None) -> list[dict]:
    names = {settings.WAHA_SESSION} if shop_ids is None else set()
    if with_shops:
        names |= {shop.session_name for shop in shops_of(shop_ids).filter(is_active=True)}
    result = []
    for name in sorted(names):
        try:
            result.append({"session": name, "status": WahaClient(name).session_status()})
        except WahaError as exc:
            result.append({"session": name, "status": "UNREACHABLE", "error": redact(str(exc))[:300]})
    return result


def shops(shop_ids: list[int] | None = None) -> list[dict]:
    return [
        {
            "id": shop.pk,
            "name": shop.name,
            "is_active": shop.is_active,
            "token_status": shop.token_status,
            "last_synced_at": shop.last_synced_at,
            "last_sync_error": redact(shop.last_sync_error)[:300],
            "last_sync_error_at": shop.last_sync_error_at,
            "sync_failures": shop.sync_failures,
            "sync_paused_until": shop.sync_paused_until,
            "quarantined_orders": shop.quarantined,
        }
        for shop in shops_of(shop_ids).annotate(quarantined=Count("quarantined_orders")).order_by("pk")
    ]


def backlog(now=None, shop_ids: list[int] | None = None) -> list[dict]:
    """Per waiting status: how many rows, and how long the oldest has not moved (seconds). A
    deferred row counts as waiting from its `not_before`: before that, it is on time."""
    now = now or timezone.now()
    rows = OutboundMessage.objects.filter(status__in=WAITING).order_by()
    if shop_ids is not None:
        rows = rows.filter(shop_id__in=shop_ids)
    found = {row["status"]: row for row in rows.values("status").annotate(n=Count("pk"), oldest=Min("updated_at"))}
    due = rows.filter(status=Status.DEFERRED, not_before__lte=now).aggregate(oldest=Min("not_before"))["oldest"]
    result = []
    for status in WAITING:
        row = found.get(status, {"n": 0, "oldest": None})
        oldest = due if status == Status.DEFERRED else row["oldest"]
        result.append({"status": status, "rows": row["n"],
                       "oldest_age_seconds": int((now - oldest).total_seconds()) if oldest else 0})
    return result


def lift_figures():
    """Whether the lift reads the figures PostgreSQL keeps (else it counts from the orders, slower)."""
    if connection.vendor != "postgresql":
        return {"stored": False}  # SQLite (a local try): always counted from the orders
    ok, why = reached.ready()
    if not ok:
        raise RuntimeError(why)
    return {"stored": True}


def status(shop_ids: list[int] | None = None) -> dict:
    """`shop_ids`: a merchant's shops (None: every shop)."""
    report = {"database": check(database), "redis": check(redis_ping), "broker": check(broker), "workers": check(workers)}
    database_ok = report["database"]["ok"]
    report["waha"] = waha_sessions(with_shops=database_ok, shop_ids=shop_ids)
    report["openai"] = {"configured": bool(settings.OPENAI_API_KEY), "model": settings.OPENAI_MODEL,
                        "custom_base_url": bool(settings.OPENAI_BASE_URL)}
    report["shops"] = shops(shop_ids) if database_ok else []
    report["webhooks"] = check(webhook.stats) if database_ok else {"ok": False}
    report["outbox"] = backlog(shop_ids=shop_ids) if database_ok else []
    report["lift_figures"] = check(lift_figures) if database_ok else {"ok": False}
    report["ok"] = all(report[part]["ok"] for part in CRITICAL)
    return report
