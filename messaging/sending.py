"""From a written message to the customer's WhatsApp, at most once."""

import logging

from django.core.cache import cache
from django.utils import timezone

from seller import policy

from . import outbox, pace
from .models import OutboundMessage
from .phones import chat_id, normalize_phone
from .waha import WahaClient, WahaError

log = logging.getLogger(__name__)
Status = OutboundMessage.Status


class SendLater(Exception):
    """Not now (pace, WAHA unavailable): the task retries after `seconds`."""

    def __init__(self, seconds: float, why: str):
        super().__init__(why)
        self.seconds = seconds


def send_message(message_id: int):
    message = OutboundMessage.objects.select_related("order", "shop").filter(pk=message_id).first()
    if message is None:
        return
    if message.status == Status.SENDING:
        # A run before this one crashed after claiming: the customer may have the message.
        outbox.move(message_id, Status.SENDING, Status.UNKNOWN, note="found sending on redelivery")
        return
    if message.status != Status.GENERATED:
        return
    if not recheck(message):
        return
    session = message.shop.session_name
    waha = WahaClient(session)
    phone = normalize_phone(message.phone)
    try:
        if not on_whatsapp(waha, phone):
            outbox.move(message_id, Status.GENERATED, Status.BLOCKED, note="not on WhatsApp", reason="no_whatsapp")
            return
    except WahaError as exc:
        raise SendLater(30, str(exc)) from exc
    wait = pace.seconds_to_wait(session)
    if wait:
        raise SendLater(wait, "pace")

    # Claimed and committed before the request: a crash from here on never sends twice.
    if not outbox.move(message_id, Status.GENERATED, Status.SENDING, attempts=message.attempts + 1, chat_id=chat_id(phone)):
        return
    try:
        sent = waha.send_text(chat_id(phone), message.text)
    except WahaError as exc:
        record_failure(message_id, exc)
        return
    outbox.move(message_id, Status.SENDING, Status.SENT, waha_message_id=sent.message_id, sent_at=timezone.now(), last_error="")


def recheck(message: OutboundMessage) -> bool:
    """Re-check the policy at send time: a cancellation or opt-out may have arrived meanwhile."""
    decision = policy.decide(message)
    if decision.action == "allow" or decision.reason == "expired":
        return True  # it was due when written; being slow to send does not expire it
    if decision.action == "defer":
        return True
    new_status = Status.CANCELLED if decision.action == "cancel" else Status.BLOCKED
    outbox.move(message.pk, Status.GENERATED, new_status, note="at send time", reason=decision.reason)
    return False


def on_whatsapp(waha: WahaClient, phone: str) -> bool:
    """Asked once a week per number: heavy checking is itself rate-limited by WhatsApp."""
    cache_key = f"on-whatsapp:{phone}"
    known = cache.get(cache_key)
    if known is None:
        known = waha.number_exists(phone.lstrip("+"))
        cache.set(cache_key, known, 7 * 24 * 3600)
    return known


def record_failure(message_id: int, exc: WahaError):
    if exc.maybe_sent:
        outbox.move(message_id, Status.SENDING, Status.UNKNOWN, note=str(exc), last_error=str(exc))
    elif exc.transient:
        # WAHA answered with an error: nothing left for WhatsApp, so a retry cannot duplicate.
        outbox.move(message_id, Status.SENDING, Status.GENERATED, note="will retry", last_error=str(exc))
        raise SendLater(60, str(exc))
    else:
        outbox.move(message_id, Status.SENDING, Status.FAILED, note=str(exc), reason=exc.reason, last_error=str(exc))
