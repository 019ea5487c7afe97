"""From a written message to the customer's WhatsApp, at most once: the row is `sending` and
committed before the request; only an error that proves nothing left returns it to
`generated`; anything else makes it `unknown`, resolved from WAHA's chat history."""

import logging
import random
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from config import redis
from config.logging import tag_row
from messaging import inbound, outbox, pace, session_state
from messaging.models import OutboundMessage
from messaging.phones import chat_id, normalize_phone
from messaging.waha import WahaClient, WahaError, WahaReachoutTimelock

from . import eligibility, policy, rows, send_history

log = logging.getLogger(__name__)
Status = OutboundMessage.Status
MAX_BACKOFF_SECONDS = 15 * 60


class SendLater(Exception):
    """Not now (pace, WAHA unavailable): the task retries after `seconds`."""

    def __init__(self, seconds: float, why: str):
        super().__init__(why)
        self.seconds = seconds


def send_message(message_id: int, now=None):
    message = rows.read(message_id)  # with its order and shop, in one plain SQL read
    if message is None:
        return
    tag_row(message)
    if message.status == Status.SENDING:
        # A run before this one crashed after claiming: the customer may have the message.
        outbox.move(message_id, Status.SENDING, Status.UNKNOWN, note="found sending on redelivery")
        return
    phone = normalize_phone(message.phone)
    if message.status == Status.GENERATED:
        inbound.check_held_lid(phone or message.phone, message.shop.session_name)
    if message.status != Status.GENERATED or not recheck(message, now):
        return
    if message.shop.mode == message.shop.Mode.DRY:
        # Everything up to here ran as in live mode; the customer gets nothing, now or later.
        outbox.move(message_id, Status.GENERATED, Status.DRY_RUN, note="dry mode: written, not sent", reason="dry_mode")
        return
    session = message.shop.session_name
    waha = WahaClient(session)
    chat = chat_id(phone)
    paused = session_state.paused_until(session, now)
    if paused and session_state.is_new_contact(phone, session, exclude_id=message_id):
        outbox.move(message_id, Status.GENERATED, Status.DEFERRED, note="session paused for new contacts (463)",
                    not_before=paused)
        return
    try:
        exists = on_whatsapp(waha, phone)
    except WahaError as exc:
        OutboundMessage.objects.filter(pk=message_id).update(attempts=F("attempts") + 1)
        give_up_or_retry(message_id, Status.GENERATED, exc, message.attempts + 1, session)
        return
    if not exists:
        outbox.move(message_id, Status.GENERATED, Status.BLOCKED, note="not on WhatsApp", reason="no_whatsapp")
        return
    turn = pace.take_turn(session, last_sent=lambda: send_history.last_sent(session))
    if turn.retry_in:
        raise later(message_id, turn.retry_in, "pace")
    if settings.WAHA_HUMAN_PACING:
        look_human(waha, chat, message.text)

    # Claimed and committed before the request: a crash from here on never sends twice.
    attempts = message.attempts + 1
    if not outbox.move(message_id, Status.GENERATED, Status.SENDING, attempts=attempts, chat_id=chat):
        return
    try:
        with turn.request():  # at its turn, never before: the request leaves right after
            sent = waha.send_text(chat, message.text)
    except WahaError as exc:
        give_up_or_retry(message_id, Status.SENDING, exc, attempts, session)
        return
    outbox.move(message_id, Status.SENDING, Status.SENT, waha_message_id=sent.message_id, sent_at=timezone.now(), last_error="")


def recheck(message: OutboundMessage, now=None) -> bool:
    """The policy again at send time: a cancellation or an opt-out may have arrived, or the
    text may be ready inside quiet hours. Being slow to send does not expire a message."""
    decision = policy.decide(message, now or timezone.now(), at_send=True)
    if decision.action == "allow":
        return True
    eligibility.apply(message.pk, Status.GENERATED, decision, note="at send time")
    return False


def on_whatsapp(waha: WahaClient, phone: str) -> bool:
    """Asked once a week per number: heavy checking is itself rate-limited by WhatsApp. Kept in
    Redis with the shared client (Django's cache built a new Redis client for every call)."""
    key = redis.key("on-whatsapp", phone)
    known = redis.client().get(key)
    if known is not None:
        return known == "1"
    exists = waha.number_exists(phone.lstrip("+"))
    redis.client().set(key, int(exists), ex=7 * 24 * 3600)
    return exists


def look_human(waha: WahaClient, chat: str, text: str):
    """Seen, typing for a moment in proportion to the text: cosmetic, so failures are ignored."""
    try:
        waha.show_typing(chat, min(2 + len(text) / 40, 8) * random.uniform(0.8, 1.2))
    except WahaError as exc:
        log.info("typing indicator skipped: %s", exc)


def give_up_or_retry(message_id: int, expected: str, exc: WahaError, attempts: int, session: str):
    """What a WAHA error means for the row: unknown when the request may have left; a pause
    for new contacts on 463; a retry with backoff while transient attempts remain; else failed."""
    error = str(exc)[:1000]
    if exc.maybe_sent:
        outbox.move(message_id, expected, Status.UNKNOWN, note=error, last_error=error)
    elif isinstance(exc, WahaReachoutTimelock):
        until = session_state.pause(session, error)
        outbox.move(message_id, expected, Status.DEFERRED, note="reachout timelock (463): session paused",
                    not_before=until, last_error=error)
    elif exc.transient and attempts < settings.WAHA_SEND_MAX_ATTEMPTS:
        # WAHA answered with an error: nothing left for WhatsApp, so a retry cannot duplicate.
        if expected == Status.SENDING:
            outbox.move(message_id, Status.SENDING, Status.GENERATED, note="will retry", last_error=error)
        raise later(message_id, backoff(attempts), error)
    else:
        reason = exc.reason if not exc.transient else "retries_exhausted"
        outbox.move(message_id, expected, Status.FAILED, note=error, reason=reason, last_error=error)


def later(message_id: int, seconds: float, why: str) -> SendLater:
    """The task will try again in `seconds`: the row says so (`not_before`), so the reconciler
    leaves it to that retry instead of starting a second one."""
    OutboundMessage.objects.filter(pk=message_id, status=Status.GENERATED).update(
        not_before=timezone.now() + timedelta(seconds=seconds))
    return SendLater(seconds, why)


def backoff(attempts: int) -> float:
    base = settings.WAHA_RETRY_BACKOFF_SECONDS * 2 ** (attempts - 1)
    return min(base, MAX_BACKOFF_SECONDS) * random.uniform(1, 1.25)


def resolve_unknown(message_id: int, now=None) -> str:
    """What became of a row whose request may have left: look for it among our own messages in
    the chat. Found: `sent`, with its id. Not found once the grace period is over: back to
    `generated` to be sent once more (a recorded retry). WAHA unreachable: stays `unknown`.
    Returns what it decided: sent, retry, waiting or unreachable."""
    now = now or timezone.now()
    message = OutboundMessage.objects.select_related("shop").filter(pk=message_id, status=Status.UNKNOWN).first()
    if message is None:
        return "moved"
    since = message.updated_at - timedelta(minutes=2)  # WhatsApp's clock against ours
    chat = message.chat_id or chat_id(normalize_phone(message.phone))
    try:
        ours = WahaClient(message.shop.session_name).our_recent_messages(chat, int(since.timestamp()))
    except WahaError as exc:
        OutboundMessage.objects.filter(pk=message_id).update(last_error=f"resolving: {exc}"[:1000])
        return "unreachable"
    match = next((m for m in ours if m.body.strip() == message.text.strip()), None)
    if match:
        outbox.move(message_id, Status.UNKNOWN, Status.SENT, note="found in WAHA's chat history",
                    waha_message_id=match.message_id, sent_at=datetime.fromtimestamp(match.timestamp, dt_timezone.utc))
        return "sent"
    if now - message.updated_at < timedelta(minutes=settings.SELLER_UNKNOWN_GRACE_MINUTES):
        return "waiting"
    if outbox.move(message_id, Status.UNKNOWN, Status.GENERATED, note="not in WAHA's chat history: sent once more"):
        return "retry"
    return "moved"
