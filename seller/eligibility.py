"""Apply the policy's decision to an outbox row, reserving its place under the caps."""

from django.db import transaction
from django.utils import timezone

from config.logging import tag_row
from messaging import limits, outbox
from messaging.models import OutboundMessage

from . import policy

Status = OutboundMessage.Status


def check_message(message_id: int, now=None) -> bool:
    """True when the row may go on to be written now: it moved `pending -> approved` with its
    place under the caps reserved, in one transaction."""
    now = now or timezone.now()
    message = OutboundMessage.objects.select_related("order", "shop").filter(pk=message_id).first()
    if message is None or message.status != Status.PENDING:
        return False
    tag_row(message)
    decision = policy.decide(message, now)
    if decision.action == "allow":
        with transaction.atomic():
            limits.lock_customer(message.shop.session_name, message.phone)
            if not OutboundMessage.objects.select_for_update().filter(pk=message_id, status=Status.PENDING).exists():
                return False  # moved meanwhile (cancelled, or another run decided)
            decision = policy.after_limits(message, limits.reserve(message, now))
            if decision.action == "allow":
                return outbox.move(message_id, Status.PENDING, Status.APPROVED, note="place reserved", reserved_at=now)
    apply(message_id, Status.PENDING, decision)
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
