"""A batch of Kaspi orders (up to ten pages) into our orders, entries, catalogue and outbox
triggers: one transaction and a few bulk queries, so a batch is saved whole or not at all."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from messaging import outbox
from messaging.models import Trigger
from messaging.phones import normalize_phone

from config import bulk
from .client import KaspiOrder, KaspiProduct
from .models import Order, OrderEntry, Product, Shop

log = logging.getLogger(__name__)

# Kaspi's business status decides our state; the tab (`state`) alone does not (ARCHIVE holds all ends).
STATUS_TO_STATE = {
    "APPROVED_BY_BANK": Order.State.NEW,
    "ACCEPTED_BY_MERCHANT": Order.State.ACCEPTED,
    "COMPLETED": Order.State.DELIVERED,
    "CANCELLING": Order.State.CANCELLED,
    "CANCELLED": Order.State.CANCELLED,
    "KASPI_DELIVERY_RETURN_REQUESTED": Order.State.RETURNED,
    "RETURN_ACCEPTED_BY_MERCHANT": Order.State.RETURNED,
    "RETURNED": Order.State.RETURNED,
}
TRIGGER_FOR_STATE = {
    Order.State.NEW: Trigger.POST_PURCHASE,
    Order.State.ACCEPTED: Trigger.POST_PURCHASE,
    Order.State.DELIVERED: Trigger.ORDER_DELIVERED,
}
FINISHED = (Order.State.DELIVERED, Order.State.CANCELLED, Order.State.RETURNED)
UNSEEN = SimpleNamespace(state=Order.State.NEW, customer_first_name="", customer_last_name="", customer_phone="",
                         delivered_at=None)
ENTRY_FIELDS = ["order_id", "product_id", "kaspi_id", "entry_number", "name", "category_title", "quantity",
                "base_price", "total_price"]
PRODUCT_FIELDS = ["code", "kaspi_id", "sku", "name", "category_code", "category_title"]
ORDER_FIELDS = [
    "code", "kaspi_state", "kaspi_status", "state", "cancellation_reason", "total_price", "delivery_mode",
    "planned_delivery_date", "created_at_kaspi", "customer_first_name", "customer_last_name", "customer_phone",
    "delivered_at", "is_kaspi_delivery", "pickup_point_id",
]


@dataclass
class SyncSummary:
    seen: int = 0
    new: int = 0
    updated: int = 0
    triggers: int = 0

    def add(self, other: "SyncSummary"):
        for name in ("seen", "new", "updated", "triggers"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self):
        return f"orders seen: {self.seen}, new: {self.new}, updated: {self.updated}, triggers created: {self.triggers}"


def ingest_batch(shop: Shop, orders: list[KaspiOrder], products: dict[str, KaspiProduct | None], *,
                now: datetime, fresh_since: datetime) -> tuple[SyncSummary, set[int]]:
    """Upsert the orders, store the entries of new ones (`products`: Kaspi's product of each
    entry id), and create the triggers the statuses call for. Returns what it did and the ids
    of the products sold, whose counts count_sales() brings up to date.

    An order first seen already finished and created before `fresh_since` is history: no trigger.
    """
    summary = SyncSummary(seen=len(orders))
    with transaction.atomic():
        relaxed_commit()
        # Another sync of this shop (should the Redis lock ever fail) waits here, batch by batch.
        list(Shop.objects.select_for_update(no_key=True).filter(pk=shop.pk).values_list("pk"))
        existing = {o.kaspi_id: o for o in shop.orders.filter(kaspi_id__in=[data.kaspi_id for data in orders])}
        created, changed, moved = [], [], []
        for data in latest_views(orders):
            order = existing.get(data.kaspi_id)
            if order is None:
                created.append(data)
                continue
            before, became_known = order.state, is_unknown(order.kaspi_status) and not is_unknown(data.status)
            if apply(order, data, now):
                order.updated_at = now
                changed.append(order)
                if order.state != before or (became_known and was_news(order)):
                    moved.append(order)
        Order.objects.bulk_update(changed, ORDER_FIELDS + ["updated_at"])
        saved = save_orders(shop, created, now)
        sold = save_entries(shop, [(pk, data) for pk, data, _ in saved], products)
        news = [Order(pk=pk, shop=shop, kaspi_id=data.kaspi_id, **fields)
                for pk, data, fields in saved if is_news(data, fields["state"], fresh_since)]
        summary.triggers = create_triggers(news + moved)
    summary.new, summary.updated = len(created), len(changed)
    return summary, sold


def save_orders(shop: Shop, created: list[KaspiOrder], now: datetime) -> list[tuple[int, KaspiOrder, dict]]:
    """Insert new orders as rows, not objects (a first sync writes thousands); (id, data, fields) of each."""
    values = [kaspi_values(data, now) for data in created]
    ids = bulk.insert_rows(Order, ["shop_id", "kaspi_id", "first_seen_at", "updated_at", *ORDER_FIELDS], [
        (shop.pk, data.kaspi_id, now, now, *[fields[name] for name in ORDER_FIELDS])
        for data, fields in zip(created, values)
    ], return_ids=True)
    return list(zip(ids, created, values))


def is_news(data: KaspiOrder, state: str, fresh_since: datetime) -> bool:
    """A new order calls for a trigger, unless Kaspi's status is unknown to us or the order is
    finished history (created before `fresh_since`)."""
    if data.status not in STATUS_TO_STATE:
        log.warning("order %s: unknown Kaspi status %s, no trigger until it is known", data.code, data.status)
        return False
    return not (state in FINISHED and data.created_at < fresh_since)


def is_unknown(status: str) -> bool:
    return bool(status) and status not in STATUS_TO_STATE


def was_news(order: Order) -> bool:
    """An order first seen with a status we did not know gets, once the status is known, the
    triggers it would have had then: unless it is history (finished, and created well before
    it was first seen, as in a shop's first sync)."""
    overlap = timedelta(minutes=settings.KASPI_SYNC_OVERLAP_MINUTES)
    return not (order.state in FINISHED and order.created_at_kaspi < order.first_seen_at - overlap)


def relaxed_commit():
    """A batch's commit need not wait for the disk: the sync's last commit (the watermark) does,
    and flushes every batch before it. A crash in between loses batches the next sync reads
    again, and never leaves a row half-saved (PostgreSQL stays consistent)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def is_stale(data: KaspiOrder, state: str) -> bool:
    """Kaspi's view shows open an order known finished: it was read before the order moved on
    (pages are read concurrently, and orders change tabs meanwhile). A finished order never reopens."""
    return state in FINISHED and STATUS_TO_STATE.get(data.status) in (Order.State.NEW, Order.State.ACCEPTED)


def latest_views(orders: list[KaspiOrder]) -> list[KaspiOrder]:
    """One view per order, the latest it can be."""
    views = {}
    for data in orders:
        seen = views.get(data.kaspi_id)
        if seen is None or not is_stale(data, STATUS_TO_STATE.get(seen.status, Order.State.NEW)):
            views[data.kaspi_id] = data
    return list(views.values())


def apply(order: Order, data: KaspiOrder, now: datetime) -> bool:
    """Copy Kaspi's view onto our order; True if anything changed."""
    if is_stale(data, order.state):
        return False
    values = kaspi_values(data, now, order)
    changed = [name for name, value in values.items() if getattr(order, name) != value]
    for name in changed:
        setattr(order, name, values[name])
    return bool(changed)


def kaspi_values(data: KaspiOrder, now: datetime, order: Order | None = None) -> dict:
    """Our order's fields as Kaspi shows them; what `order` saw first it keeps."""
    seen = order or UNSEEN
    state = STATUS_TO_STATE.get(data.status, seen.state)  # an unknown status keeps our state
    return {
        "code": data.code,
        "kaspi_state": data.state,
        "kaspi_status": data.status,
        "state": state,
        "cancellation_reason": data.cancellation_reason[:100],
        "total_price": data.total_price,
        "delivery_mode": data.delivery_mode[:50],
        "planned_delivery_date": data.planned_delivery_date,
        "is_kaspi_delivery": data.is_kaspi_delivery,
        "pickup_point_id": data.pickup_point_id[:100],
        "created_at_kaspi": data.created_at,
        "customer_first_name": data.first_name[:100] or seen.customer_first_name,
        "customer_last_name": data.last_name[:100] or seen.customer_last_name,
        # Kaspi masks the phone on finished orders: keep the first real one.
        "customer_phone": seen.customer_phone or kaspi_phone(data.phone),
        "delivered_at": seen.delivered_at or (now if state == Order.State.DELIVERED else None),
    }


@lru_cache(maxsize=10_000)
def kaspi_phone(raw: str) -> str:
    """E.164, or "" for a masked or invalid number; cached, as customers come back."""
    if "*" in raw:
        return ""  # masked (finished orders): most of a first sync, and not worth parsing
    return normalize_phone(raw) or ""


def save_entries(shop: Shop, created: list[tuple[int, KaspiOrder]],
                 products: dict[str, KaspiProduct | None]) -> set[int]:
    """The new orders' items (by order id), and what they teach about the shop's catalogue;
    the ids of the products sold."""
    lines = [(order_id, entry, products.get(entry.kaspi_id))
             for order_id, data in created for entry in data.entries or []]
    rows = product_rows(shop, [found for _, _, found in lines if found])
    changed = set()  # codes
    for _, entry, found in lines:
        if found is None:
            continue
        row = rows[found.code]
        values = {
            "code": found.code,
            "kaspi_id": found.kaspi_id,
            "sku": entry.sku or row.sku,
            "name": (found.name or entry.name or row.name)[:500],
            "category_code": entry.category_code or found.category_code or row.category_code,
            "category_title": entry.category_title or found.category_title or row.category_title,
        }
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed.add(found.code)
    Product.objects.bulk_create([row for row in rows.values() if row.pk is None])
    Product.objects.bulk_update([rows[code] for code in changed if rows[code].pk], PRODUCT_FIELDS)
    bulk.insert_rows(OrderEntry, ENTRY_FIELDS, [
        (order_id, rows[found.code].pk if found else None, entry.kaspi_id, entry.entry_number, entry.name[:500],
         entry.category_title[:200], entry.quantity, entry.base_price, entry.total_price)
        for order_id, entry, found in lines
    ])
    return {row.pk for row in rows.values()}


def count_sales(product_ids):
    """Each product's times_sold and last_price, from the entries themselves, so they never drift."""
    entries = OrderEntry.objects.filter(product=OuterRef("pk"))
    Product.objects.filter(pk__in=product_ids).update(
        times_sold=Coalesce(Subquery(entries.values("product").annotate(n=Sum("quantity")).values("n")), 0),
        last_price=Subquery(entries.order_by("-order__created_at_kaspi", "-pk").values("base_price")[:1]),
    )


def product_rows(shop: Shop, found: list[KaspiProduct]) -> dict[str, Product]:
    """The shop's Product row for each code, existing or new (unsaved). A row an older sync
    saved under the opaque id is found by it, and gets its real code."""
    codes, refs = {p.code for p in found}, {p.kaspi_id for p in found}
    saved = list(Product.objects.filter(shop=shop).filter(Q(code__in=codes) | Q(kaspi_id__in=refs)))
    by_code = {row.code: row for row in saved}
    by_ref = {row.kaspi_id: row for row in saved if row.kaspi_id}
    rows = {}
    for product in found:
        row = by_code.get(product.code) or by_ref.get(product.kaspi_id)
        if row is None:
            row = Product(shop=shop, code=product.code, name=product.name, kaspi_id=product.kaspi_id)
        rows[product.code] = row
    return rows


def create_triggers(orders: list[Order]) -> int:
    """POST_PURCHASE once an order is paid or accepted, ORDER_DELIVERED once it is completed;
    an order cancelled or returned cancels what is still waiting. Returns the triggers created."""
    for order in orders:
        if order.state in (Order.State.CANCELLED, Order.State.RETURNED):
            outbox.cancel_waiting(order, reason=order.state)
    return len(outbox.create_messages([(o, TRIGGER_FOR_STATE[o.state]) for o in orders if o.state in TRIGGER_FOR_STATE]))
