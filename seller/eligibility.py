"""Apply the policy's decision to an outbox row, reserving its place under the caps."""

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.utils import timezone

from config.logging import logged_as
from kaspi_sync.models import Shop
from messaging import limits, outbox
from messaging.models import OutboundMessage
from messaging.phones import normalize_phone

from . import policy

log = logging.getLogger(__name__)
Status = OutboundMessage.Status


def check_message(message_id: int, now=None) -> bool:
    """True when the row may go on to be written now: it moved `pending -> approved` with its
    place under the caps reserved, in one transaction."""
    return message_id in check_messages([message_id], now)


def check_messages(message_ids: list[int], now=None) -> list[int]:
    """Check a batch of pending rows; returns those approved (their places reserved), in order.

    What the batch shares is read once: the rows with their orders, each shop, the customers'
    opt-outs and open handoffs. Each row is still decided, locked, reserved and moved alone, one
    after the other, each in its own transaction with its own conditional update and event: two
    rows of one customer see each other's reservation, and a batch cut short (a killed worker)
    leaves the rows it had not reached pending, for the reconciler. A row whose check fails is
    left pending too, and the others go on."""
    now = now or timezone.now()
    messages = list(OutboundMessage.objects.select_related("order").filter(pk__in=message_ids, status=Status.PENDING)
                    .order_by("pk"))
    if not messages:
        return []
    shops = Shop.objects.in_bulk({message.shop_id for message in messages})
    for message in messages:
        message.shop = shops[message.shop_id]
    known = policy.Known.read(messages)
    approved = []
    for message in messages:
        with logged_as(message):
            try:
                if check(message, now, known):
                    approved.append(message)
            except SoftTimeLimitExceeded:
                raise
            except Exception:  # this row waits for the reconciler; the batch goes on
                log.exception("outbox %s: eligibility check failed (left pending)", message.pk)
    # An opt-out recorded while the batch ran: its rows are blocked before they are written.
    late = policy.opted_out(policy.phones_of(approved)) if approved else frozenset()
    still_approved = []
    for message in approved:
        if normalize_phone(message.phone) in late:
            apply(message.pk, Status.APPROVED, policy.Decision("block", "opt_out"), note="during the check")
        else:
            still_approved.append(message.pk)
    return still_approved


def check(message: OutboundMessage, now, known: policy.Known) -> bool:
    decision = policy.decide(message, now, known=known)
    if decision.action == "allow":
        with transaction.atomic():
            limits.lock_customer(message.shop.session_name, message.phone)
            if not OutboundMessage.objects.select_for_update().filter(pk=message.pk, status=Status.PENDING).exists():
                return False  # moved meanwhile (cancelled, or another run decided)
            decision = policy.after_limits(message, limits.reserve(message, now))
            if decision.action == "allow":
                return outbox.move(message.pk, Status.PENDING, Status.APPROVED, note="place reserved", reserved_at=now)
    apply(message.pk, Status.PENDING, decision)
    return False


def apply(message_id: int, expected, decision: policy.Decision, note: str = "") -> bool:
    """Move the row as a defer, block or cancel decision says; a block or cancel gives its
    reserved place back (outbox.move does), a defer before writing does too."""
    note = f"{decision.reason} {note}".strip()
    if decision.action == "defer":
        fields = {"reserved_at": None} if expected == Status.PENDING else {}
        return outbox.move(message_id, expected, Status.DEFERRED, note=note, not_before=decision.not_before, **fields)
    new_status = Status.CANCELLED if decision.action == "cancel" else Status.BLOCKED
    return outbox.move(message_id, expected, new_status, note=note, reason=decision.reason)


def release_due(now=None) -> list[tuple[int, str]]:
    """Deferred rows whose time has come go back to where they were: pending, or generated
    when they were deferred at send time (their text is kept). Returns (id, status) pairs."""
    now = now or timezone.now()
    due = OutboundMessage.objects.filter(status=Status.DEFERRED, not_before__lte=now).values_list("pk", "text")
    released = []
    for message_id, text in due[:1000]:
        back_to = Status.GENERATED if text else Status.PENDING
        if outbox.move(message_id, Status.DEFERRED, back_to, note="due"):
            released.append((message_id, back_to))
    return released
