"""May this message be written and sent now? The rules that keep the seller from spamming.

`decide` reads the database and the clock only; the cap and the cooldown are counted in Redis
(`messaging.limits`) and turned into a decision by `after_limits`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
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


@dataclass(frozen=True)
class Known:
    """The opt-outs and open handoffs of a batch's customers, read once for the batch (two
    queries instead of two a row). An opt-out recorded after this was read is caught by
    `opted_out` before the batch's rows are written, and again at send time."""

    opted_out: frozenset
    handoffs: frozenset  # (phone, session) pairs

    @classmethod
    def read(cls, messages) -> "Known":
        # One plain statement for both: asked at every send, and building two ORM queries cost
        # more CPU than running them.
        phones = phones_of(messages)
        if not phones:
            return cls(frozenset(), frozenset())
        quote, among = connection.ops.quote_name, ", ".join(["%s"] * len(phones))
        sql = (f"SELECT 'opt_out', phone, '' FROM {quote(OptOut._meta.db_table)} WHERE phone IN ({among}) "
               f"UNION ALL SELECT 'handoff', phone, session FROM {quote(Handoff._meta.db_table)} "
               f"WHERE phone IN ({among}) AND status = %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*phones, *phones, Handoff.Status.OPEN.value])
            found = cursor.fetchall()
        return cls(frozenset(phone for kind, phone, _ in found if kind == "opt_out"),
                   frozenset((phone, session) for kind, phone, session in found if kind == "handoff"))


def phones_of(messages) -> list[str]:
    return list({phone for phone in (normalize_phone(m.phone) for m in messages) if phone})


def opted_out(phones: list[str]) -> frozenset:
    """Those of these (normalised) phones that opted out."""
    return frozenset(OptOut.objects.filter(phone__in=phones).values_list("phone", flat=True))


def decide(message: OutboundMessage, now: datetime | None = None, at_send: bool = False,
           known: Known | None = None) -> Decision:
    """At send time (`at_send`) a message that was due when written does not expire. `known`:
    the opt-outs and handoffs already read for a batch (else they are read here)."""
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
    known = known or Known.read([message])
    if phone in known.opted_out:
        return Decision("block", "opt_out")
    if (phone, shop.session_name) in known.handoffs:
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
