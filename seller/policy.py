"""May this message be written and sent now? The rules that keep the seller from spamming.

`decide` reads the database and the clock only; the cap and the cooldown are counted in Redis
(`messaging.limits`) and turned into a decision by `after_limits`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from kaspi_sync import quiet_hours
from messaging.limits import Outcome
from messaging.models import OptOut, OutboundMessage
from messaging.phones import normalize_phone

from . import holdout
from .models import Handoff
from .triggers import spec

HANDOFF_RECHECK = timedelta(hours=1)


@dataclass(frozen=True)
class Decision:
    """`allow`, or `block` with a reason, or `defer` until `not_before`, or `cancel`."""

    action: str
    reason: str = ""
    not_before: datetime | None = None


ALLOW = Decision("allow")


def decide(message: OutboundMessage, now: datetime | None = None, at_send: bool = False) -> Decision:
    """At send time (`at_send`) a message that was due when written does not expire."""
    now = now or timezone.now()
    order, shop = message.order, message.shop
    if order.state in spec(message.trigger).cancelled_by:
        return Decision("cancel", f"order_{order.state}")
    if not shop.is_active or not shop.trigger_enabled(message.trigger):
        return Decision("block", "disabled")
    if shop.mode == shop.Mode.OFF:
        return Decision("block", "shop_off")
    phone = normalize_phone(message.phone)
    if not phone:
        return Decision("block", "invalid_phone")
    if OptOut.objects.filter(phone=phone).exists():
        return Decision("block", "opt_out")
    if Handoff.objects.filter(phone=phone, session=shop.session_name, status=Handoff.Status.OPEN).exists():
        # A person is talking with this customer: marketing waits until the handoff is closed.
        return defer(message, now + HANDOFF_RECHECK, "handoff", at_send)
    if not at_send and now > expiry(message):
        return Decision("block", "expired")
    due = due_time(message)
    if due > now:
        return defer(message, due, "delay", at_send)
    quiet_end = quiet_hours.window_end(shop.setting("quiet_hours"), shop.tz_name, now)
    if quiet_end:
        return defer(message, quiet_end, "quiet_hours", at_send)
    if holdout.held_out(shop, phone):  # last, when it would go: held-out and messaged customers compare
        return Decision("block", "holdout")
    return ALLOW


def after_limits(message: OutboundMessage, outcome: Outcome) -> Decision:
    if outcome.allowed:
        return ALLOW
    if outcome.result == "cap":
        return Decision("block", "cap")
    return defer(message, outcome.until, "cooldown" if outcome.result == "cooldown" else "daily_cap")


def defer(message: OutboundMessage, until: datetime, reason: str, at_send: bool = False) -> Decision:
    """Wait until `until`, unless the message would be stale by then."""
    if not at_send and until > expiry(message):
        return Decision("block", "expired")
    return Decision("defer", reason, not_before=until)


def due_time(message: OutboundMessage) -> datetime:
    """When the trigger's event happened, plus the trigger's delay."""
    trigger = spec(message.trigger)
    return trigger.event_time(message) + timedelta(hours=message.shop.setting(trigger.delay_setting))


def expiry(message: OutboundMessage) -> datetime:
    """A message not sent by then is stale: thanks for an order of last week read as spam."""
    return due_time(message) + timedelta(hours=message.shop.setting("max_defer_hours"))
