"""Turn Kaspi's orders into our orders, catalogue and outbox triggers."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from messaging import outbox
from messaging.models import Trigger
from messaging.phones import normalize_phone

from .client import STATES, KaspiAuthError, KaspiClient, KaspiOrder
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


@dataclass
class SyncSummary:
    seen: int = 0
    new: int = 0
    updated: int = 0
    triggers: int = 0

    def add(self, other: "SyncSummary"):
        for name in ("seen", "new", "updated", "triggers"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def sync_shop(shop: Shop, days: int | None = None, now: datetime | None = None, progress=None) -> SyncSummary:
    """Read the shop's orders created in the last `days` days and record what changed.

    Safe to repeat: orders are upserted and triggers are unique per (order, trigger).
    A rejected token marks the shop and is not retried.
    """
    now = now or timezone.now()
    start = now - timedelta(days=days or settings.KASPI_SYNC_DAYS)
    client = KaspiClient(shop.kaspi_token, shop_label=str(shop.pk))
    summary = SyncSummary()
    try:
        for state in STATES:
            for kaspi_order in client.orders(state, start, now):
                summary.add(ingest_order(shop, kaspi_order, now, first_sync=shop.sync_watermark is None))
                if progress:
                    progress(1)
    except KaspiAuthError as exc:
        Shop.objects.filter(pk=shop.pk).update(token_status=Shop.TokenStatus.REJECTED, last_sync_error=str(exc))
        raise
    Shop.objects.filter(pk=shop.pk).update(
        last_synced_at=now, token_status=Shop.TokenStatus.OK, last_sync_error="", sync_watermark=now
    )
    log.info("shop %s synced: %s", shop.pk, summary)
    return summary


@transaction.atomic
def ingest_order(shop: Shop, data: KaspiOrder, now: datetime, first_sync: bool = False) -> SyncSummary:
    """Upsert one order with its entries and create the triggers its status calls for.

    On a shop's first sync, orders that were already delivered are history: no trigger.
    """
    summary = SyncSummary(seen=1)
    state = STATUS_TO_STATE.get(data.status, Order.State.NEW)
    order = Order.objects.select_for_update().filter(shop=shop, kaspi_id=data.kaspi_id).first()
    if order is None:
        order = Order(shop=shop, kaspi_id=data.kaspi_id)
        summary.new = 1
    elif (order.kaspi_status, order.kaspi_state) != (data.status, data.state):
        summary.updated = 1
    elif order.customer_phone or not normalize_phone(data.phone):
        return summary  # nothing changed since the last sync

    order.code = data.code
    order.kaspi_state, order.kaspi_status, order.state = data.state, data.status, state
    order.cancellation_reason = data.cancellation_reason
    order.total_price = data.total_price
    order.delivery_mode = data.delivery_mode
    order.planned_delivery_date = data.planned_delivery_date
    order.created_at_kaspi = data.created_at
    order.customer_first_name = data.first_name[:100]
    order.customer_last_name = data.last_name[:100]
    # Kaspi may mask the phone on finished orders: keep the first real one.
    order.customer_phone = order.customer_phone or normalize_phone(data.phone) or ""
    if state == Order.State.DELIVERED and not order.delivered_at:
        order.delivered_at = now
    order.save()
    if summary.new:
        save_entries(shop, order, data)

    if not (first_sync and summary.new and order.is_finished):
        summary.triggers = create_triggers(order)
    return summary


def save_entries(shop: Shop, order: Order, data: KaspiOrder):
    for entry in data.entries:
        product = None
        if entry.product_code:
            product, _ = Product.objects.get_or_create(
                shop=shop, code=entry.product_code, defaults={"name": entry.name or entry.product_code}
            )
            product.name = entry.name or product.name
            product.sku = entry.sku
            product.category_code, product.category_title = entry.category_code, entry.category_title
            product.last_price = entry.base_price
            product.times_sold += entry.quantity
            product.save()
        OrderEntry.objects.update_or_create(
            order=order,
            entry_number=entry.entry_number,
            defaults={
                "product": product,
                "kaspi_id": entry.kaspi_id,
                "name": entry.name,
                "category_title": entry.category_title,
                "quantity": entry.quantity,
                "base_price": entry.base_price,
                "total_price": entry.total_price,
            },
        )


def create_triggers(order: Order) -> int:
    """POST_PURCHASE once an order is paid, ORDER_DELIVERED once it is completed; an order
    cancelled or returned cancels what is still waiting."""
    if order.state in (Order.State.CANCELLED, Order.State.RETURNED):
        outbox.cancel_waiting(order, reason=order.state)
        return 0
    created = 0
    if order.state in (Order.State.NEW, Order.State.ACCEPTED):
        created += outbox.create_trigger(order, Trigger.POST_PURCHASE)
    if order.state == Order.State.DELIVERED:
        created += outbox.create_trigger(order, Trigger.ORDER_DELIVERED)
    return created
