"""May this message be written and sent now? The rules that keep the seller from spamming."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from kaspi_sync.models import Order
from messaging.models import OptOut, OutboundMessage, Trigger
from messaging.phones import normalize_phone


@dataclass(frozen=True)
class Decision:
    """`allow`, or `block` with a reason, or `defer` until `not_before`, or `cancel`."""

    action: str
    reason: str = ""
    not_before: datetime | None = None


ALLOW = Decision("allow")


def decide(message: OutboundMessage, now: datetime | None = None) -> Decision:
    now = now or timezone.now()
    order, shop = message.order, message.shop
    if order.state in (Order.State.CANCELLED, Order.State.RETURNED):
        return Decision("cancel", f"order_{order.state}")
    if not shop.is_active or not shop.trigger_enabled(message.trigger):
        return Decision("block", "disabled")
    phone = normalize_phone(message.phone)
    if not phone:
        return Decision("block", "invalid_phone")
    if OptOut.objects.filter(phone=phone).exists():
        return Decision("block", "opt_out")
    due = due_time(message)
    if now - due > timedelta(hours=shop.setting("max_defer_hours")):
        return Decision("block", "expired")
    if due > now:
        return Decision("defer", "delay", not_before=due)
    return ALLOW


def due_time(message: OutboundMessage) -> datetime:
    """When the trigger's event happened, plus the trigger's delay."""
    order = message.order
    if message.trigger == Trigger.ORDER_DELIVERED:
        delivered = order.delivered_at or message.created_at
        return delivered + timedelta(hours=message.shop.setting("delivered_delay_hours"))
    return order.created_at_kaspi
