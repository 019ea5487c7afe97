"""WAHA's webhook: signed events about replies and delivery. Answered fast: a reply is stored
(with its opt-out, if it is one) and handed to a task (`messaging.inbound`); an ack is one
conditional update. Every answer is a 2xx unless the request is forged or malformed, because
WAHA retries anything else 15 times."""

import hashlib
import hmac
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError

from config import redis

from . import optouts, outbox, session_state
from .models import InboundMessage, LidOptOut, OutboundMessage, WebhookCount
from .phones import normalize_phone
from .waha import is_reachout_timelock, raw_id

log = logging.getLogger(__name__)
Status = OutboundMessage.Status
SEEN_SECONDS = 3 * 24 * 3600  # WAHA retries for minutes; a repeat after days is not a retry
MAX_ID_LENGTH = 200  # the longest id a column holds; WAHA's are far shorter
PEOPLE = ("@c.us", "@s.whatsapp.net", "@lid")
PHONES = ("@c.us", "@s.whatsapp.net")
ACK_ERROR, ACK_DELIVERED, ACK_READ = -1, 2, 3


class BadEvent(Exception):
    """The event is malformed: 400, nothing changes."""


class TooEarly(Exception):
    """An ack for a message whose send is still being recorded: 503, so WAHA delivers it again
    2 s later, when the row carries the message's id."""


class Refused(Exception):
    """The request is not WAHA's (bad signature, no key configured): 401, nothing changes."""

    def __init__(self, outcome: str, message: str):
        super().__init__(message)
        self.outcome = outcome


def check_signature(raw_body: bytes, signature: str, algorithm: str = ""):
    key = settings.WAHA_WEBHOOK_HMAC_KEY
    if not key:
        if settings.DEBUG:
            return  # unsigned webhooks are accepted only in development
        raise Refused("no_hmac_key", "WAHA_WEBHOOK_HMAC_KEY is not set: webhooks are refused")
    signature, algorithm = (signature or "").strip().lower(), (algorithm or "").strip().lower()
    if not signature.isascii() or not algorithm.isascii():
        raise Refused("bad_signature_header", "the signature header is not hex")
    if algorithm and algorithm != "sha512":
        raise Refused("bad_signature_algorithm", f"unsupported signature algorithm {algorithm[:20]!r}")
    expected = hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused("bad_signature", "bad or missing signature")


def accept(event) -> str:
    """Handle one event once: "ok", "duplicate" or "ignored"; BadEvent when malformed."""
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise BadEvent("not a WAHA event: event is required")
    kind, payload = event["event"], event.get("payload")
    if kind not in ("message", "message.ack"):
        log.info("webhook event %r ignored", kind[:50])
        return "ignored"  # an event we do not use (or do not know yet): 2xx, so WAHA stops retrying
    if not isinstance(payload, dict):
        raise BadEvent(f"{kind} without payload")
    if kind == "message":
        check_message_payload(payload)
    else:
        check_ack_payload(payload)
    envelope_id = event.get("id")
    if isinstance(envelope_id, str) and len(envelope_id) > MAX_ID_LENGTH:
        raise BadEvent(f"event id longer than {MAX_ID_LENGTH} characters")
    seen_key = redis.key("webhook-seen", envelope_id) if isinstance(envelope_id, str) and envelope_id else None
    try:
        if seen_key and not redis.client().set(seen_key, "1", nx=True, ex=SEEN_SECONDS):
            return "duplicate"
    except RedisError as exc:
        # Without Redis the database still drops repeats (unique message id; acks are conditional moves).
        log.warning("webhook repeats not checked in Redis: %s", exc)
        seen_key = None
    session = session_of(event)
    try:
        if kind == "message":
            return store_incoming(payload, session)
        return handle_ack(payload, session)
    except Exception:
        if seen_key:
            redis.client().delete(seen_key)  # not handled: WAHA's retry must get through
        raise


def session_of(event: dict) -> str:
    session = event.get("session")
    return session[:100] if isinstance(session, str) and session else settings.WAHA_SESSION


def check_message_payload(payload: dict):
    check_id(payload, "message")
    if not isinstance(payload.get("from"), str) or not payload["from"]:
        raise BadEvent("message without sender")
    if len(payload["from"]) > 100:
        raise BadEvent("sender longer than 100 characters")
    if not isinstance(payload.get("body") or "", str):
        raise BadEvent("message body is not text")


def check_ack_payload(payload: dict):
    check_id(payload, "ack")
    if not isinstance(payload.get("ack"), int) or isinstance(payload.get("ack"), bool):
        raise BadEvent("ack without level")


def check_id(payload: dict, what: str):
    ident = payload.get("id")
    if not isinstance(ident, str) or not ident:
        raise BadEvent(f"{what} without id")
    if len(ident) > MAX_ID_LENGTH:
        raise BadEvent(f"{what} id longer than {MAX_ID_LENGTH} characters")
    if not raw_id(ident):
        raise BadEvent(f"{what} id without its message part")


def sender_ids(payload: dict) -> tuple[str, str]:
    """(lid, phone) of the sender as far as this event tells: WAHA's `from`, and the other form
    some engines carry in `_data` (NOWEB `key.remoteJidAlt`, GOWS `Info.SenderAlt`; unverified
    on every version, so both are read defensively)."""
    data = payload.get("_data") if isinstance(payload.get("_data"), dict) else {}
    key = data.get("key") if isinstance(data.get("key"), dict) else {}
    info = data.get("Info") if isinstance(data.get("Info"), dict) else {}
    lid = phone = ""
    for jid in (payload["from"], key.get("remoteJidAlt"), info.get("SenderAlt")):
        if not isinstance(jid, str):
            continue
        if jid.endswith("@lid") and not lid:
            lid = jid[:100]
        elif jid.endswith(PHONES) and not phone:
            phone = normalize_phone(jid.split("@")[0]) or ""
    return lid, phone


def store_incoming(payload: dict, session: str) -> str:
    """Keep the reply (once per WAHA message id) and its opt-out, both before answering; the
    rest (our message it answers, the confirmation) is left to a task."""
    sender = payload["from"]
    if payload.get("fromMe") or not sender.endswith(PEOPLE):
        return "ignored"  # our own messages, groups, channels, status broadcasts
    lid, phone = sender_ids(payload)
    body = (payload.get("body") or "")[:4000]
    keyword = optouts.opt_out_keyword(body)
    with transaction.atomic():
        inbound, created = InboundMessage.objects.get_or_create(
            waha_id=payload["id"], defaults={"sender": sender, "phone": phone, "body": body, "session": session},
        )
        if not created:
            return "duplicate"
        if lid and phone:
            optouts.lid_mapped(lid, phone)  # a lid that opted out before is now known
        if keyword:
            if phone:
                new = optouts.record_opt_out(phone, keyword)
            else:  # an @lid; or a number that is no Kazakhstan mobile, which we never write to
                new = bool(lid) and optouts.hold_for_lid(lid, session, keyword)
            InboundMessage.objects.filter(pk=inbound.pk).update(is_opt_out=True, confirm_opt_out=new)
            log.info("opt-out recorded from a reply (%s)%s", keyword, "" if phone else ", held against the @lid")
        transaction.on_commit(lambda: publish_processing(inbound.pk), robust=True)
    return "ok"


def publish_processing(inbound_id: int):
    """Queue the reply's task. The reply is committed already: a broker that is down must not
    turn the answer into a 500 (WAHA's retry would be a "duplicate"); the reconciler
    (`inbound.retry_unprocessed`) queues it again."""
    outbox.publish("messaging.process_inbound", inbound_id)


def handle_ack(payload: dict, session: str) -> str:
    ack = payload["ack"]
    if ack not in (ACK_ERROR, ACK_DELIVERED, ACK_READ, 4):
        return "ignored"  # pending, server: nothing the customer has seen yet
    row = OutboundMessage.objects.filter(waha_raw_id=raw_id(payload["id"])).values("pk", "phone").first()
    if row is None:
        if being_sent(payload["id"]):
            raise TooEarly("the message's send is still being recorded")
        return "ignored"
    now = timezone.now()
    if ack == ACK_ERROR:
        return ack_error(row, payload, session)
    if ack >= ACK_READ:
        outbox.move(row["pk"], (Status.SENT, Status.DELIVERED, Status.UNKNOWN), Status.READ, note="read", read_at=now)
    else:
        outbox.move(row["pk"], (Status.SENT, Status.UNKNOWN), Status.DELIVERED, note="delivered", delivered_at=now)
    return "ok"


def being_sent(message_id: str) -> bool:
    """A row to this chat is `sending`: WAHA's ack may have come before its answer was recorded
    (an ack -1 for a 463 can be that quick)."""
    parts = message_id.split("_")
    chat = parts[1] if len(parts) == 3 else ""
    return bool(chat) and OutboundMessage.objects.filter(status=Status.SENDING, chat_id=chat).exists()


def ack_error(row: dict, payload: dict, session: str) -> str:
    """`ack: -1`: WhatsApp did not deliver the message. On WEBJS and NOWEB this is how WhatsApp's
    463 (reachout timelock) arrives: a code 463 in the event, or an unexplained failure of a
    first message to a new contact, pauses the session for new contacts like an HTTP 463."""
    why = ack_error_text(payload)
    new_contact = session_state.is_new_contact(row["phone"], session, exclude_id=row["pk"])
    timelock = is_reachout_timelock(why) or (not why and new_contact)
    reason = "reachout_timelock" if timelock else "ack_error"
    error = f"ack -1 ({payload.get('ackName') or 'ERROR'}){': ' + why if why else ''}"
    moved = outbox.move(row["pk"], (Status.SENT, Status.DELIVERED, Status.UNKNOWN), Status.FAILED,
                        note=error, reason=reason, last_error=error)
    if moved and timelock:
        session_state.pause(session, f"reachout timelock (463) reported by ack: {error}")
    return "ok"


def ack_error_text(payload: dict) -> str:
    """What an ack -1 says about why, from where engines put it (none documents it: read defensively)."""
    data = payload.get("_data") if isinstance(payload.get("_data"), dict) else {}
    found = []
    for source in (payload, data):
        for key in ("error", "reason", "errorCode", "messageStubParameters", "Error"):
            value = source.get(key)
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, dict):
                    item = item.get("message") or item.get("code")
                if isinstance(item, (str, int)) and not isinstance(item, bool) and str(item):
                    found.append(str(item))
    return " ".join(found)[:250]


def count(session: str, outcome: str):
    """One more webhook for (session, outcome), for /ai-seller/status."""
    now = timezone.now()
    if WebhookCount.objects.filter(session=session, outcome=outcome).update(count=F("count") + 1, last_at=now):
        return
    try:
        with transaction.atomic():
            WebhookCount.objects.create(session=session, outcome=outcome, count=1, last_at=now)
    except IntegrityError:  # another request created it in between
        WebhookCount.objects.filter(session=session, outcome=outcome).update(count=F("count") + 1, last_at=now)


def stats() -> dict:
    """For /ai-seller/status: the last webhook accepted per session, and refusals by why."""
    rows = WebhookCount.objects.order_by("session", "outcome")
    accepted = [{"session": r.session, "last_received_at": r.last_at, "count": r.count}
                for r in rows if r.outcome == "accepted"]
    refused = {r.outcome: {"count": r.count, "last_at": r.last_at} for r in rows if r.outcome != "accepted"}
    return {"hmac_key_set": bool(settings.WAHA_WEBHOOK_HMAC_KEY), "sessions": accepted, "refused": refused,
            "refused_total": sum(r["count"] for r in refused.values()),
            "replies_pending": InboundMessage.objects.filter(processed_at__isnull=True).count(),
            "lid_opt_outs_unmapped": LidOptOut.objects.filter(mapped_at__isnull=True).count()}
