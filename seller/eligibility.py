"""Apply the policy's decision to an outbox row."""

from django.utils import timezone

from messaging import outbox
from messaging.models import OutboundMessage

from . import policy

Status = OutboundMessage.Status


def check_message(message_id: int, now=None) -> bool:
    """True when the row may go on to be written now."""
    message = OutboundMessage.objects.select_related("order", "shop").filter(pk=message_id).first()
    if message is None or message.status != Status.PENDING:
        return False
    decision = policy.decide(message, now or timezone.now())
    if decision.action == "allow":
        return True
    if decision.action == "defer":
        outbox.move(message_id, Status.PENDING, Status.DEFERRED, note=decision.reason, not_before=decision.not_before)
    elif decision.action == "cancel":
        outbox.move(message_id, Status.PENDING, Status.CANCELLED, note=decision.reason, reason=decision.reason)
    else:
        outbox.move(message_id, Status.PENDING, Status.BLOCKED, note=decision.reason, reason=decision.reason)
    return False


def release_due(now=None) -> list[int]:
    """Deferred rows whose time has come go back to pending; returns their ids."""
    now = now or timezone.now()
    due = OutboundMessage.objects.filter(status=Status.DEFERRED, not_before__lte=now).values_list("pk", flat=True)
    return [message_id for message_id in due[:1000] if outbox.move(message_id, Status.DEFERRED, Status.PENDING, note="due")]
