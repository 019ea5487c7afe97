"""WAHA's webhook: signed events about replies and delivery. Answered fast: a reply is stored
and handed to a task (`messaging.inbound`); an ack is one conditional update."""

import hashlib
import hmac
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config import redis

from . import outbox
from .models import InboundMessage, OutboundMessage
from .phones import normalize_phone
from .waha import raw_id

log = logging.getLogger(__name__)
Status = OutboundMessage.Status
SEEN_SECONDS = 3 * 24 * 3600  # WAHA retries for minutes; a repeat after days is not a retry
IGNORED_EVENTS = ("session.status", "message.any", "message.ack.group", "message.reaction", "message.revoked",
                  "message.edited",
                  "presence.update", "chat.archive", "call.received", "call.accepted", "call.rejected")
PEOPLE = ("@c.us", "@s.whatsapp.net", "@lid")


class BadEvent(Exception):
    """The event is malformed or unknown: 400, nothing changes."""


def signature_ok(raw_body: bytes, signature: str, algorithm: str = "") -> bool:
    key = settings.WAHA_WEBHOOK_HMAC_KEY
    if not key:
        return settings.DEBUG  # unsigned webhooks are accepted only in development
    if algorithm and algorithm.lower() != "sha512":
        return False
    expected = hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, (signature or "").strip().lower())


def accept(event) -> str:
    """Handle one event once: "ok", "duplicate" or "ignored"; BadEvent when malformed."""
    if not isinstance(event, dict) or not isinstance(event.get("payload"), dict) or not isinstance(event.get("event"), str):
        raise BadEvent("not a WAHA event: event and payload are required")
    kind, payload = event["event"], event["payload"]
    if kind not in ("message", "message.ack") and kind not in IGNORED_EVENTS:
        raise BadEvent(f"unknown event {kind!r}")
    if kind == "message":
        check_message_payload(payload)
    elif kind == "message.ack":
        check_ack_payload(payload)
    envelope_id = event.get("id")
    seen_key = redis.key("webhook-seen", envelope_id) if isinstance(envelope_id, str) and envelope_id else None
    if seen_key and not redis.client().set(seen_key, "1", nx=True, ex=SEEN_SECONDS):
        return "duplicate"
    try:
        if kind == "message":
            return store_incoming(payload, str(event.get("session") or settings.WAHA_SESSION))
        if kind == "message.ack":
            return handle_ack(payload)
        return "ignored"
    except Exception:
        if seen_key:
            redis.client().delete(seen_key)  # not handled: WAHA's retry must get through
        raise


def check_message_payload(payload: dict):
    if not isinstance(payload.get("id"), str) or not payload["id"]:
        raise BadEvent("message without id")
    if not isinstance(payload.get("from"), str) or not payload["from"]:
        raise BadEvent("message without sender")
    if not isinstance(payload.get("body") or "", str):
        raise BadEvent("message body is not text")


def check_ack_payload(payload: dict):
    if not isinstance(payload.get("id"), str) or not payload["id"]:
        raise BadEvent("ack without id")
    if not isinstance(payload.get("ack"), int) or isinstance(payload.get("ack"), bool):
        raise BadEvent("ack without level")


def store_incoming(payload: dict, session: str) -> str:
    """Keep the reply (once per WAHA message id) and leave the rest to a task."""
    sender = payload["from"]
    if payload.get("fromMe") or not sender.endswith(PEOPLE):
        return "ignored"  # our own messages, groups, channels, status broadcasts
    phone = "" if sender.endswith("@lid") else normalize_phone(sender.split("@")[0]) or ""
    with transaction.atomic():
        inbound, created = InboundMessage.objects.get_or_create(
            waha_id=payload["id"],
            defaults={"sender": sender[:100], "phone": phone, "body": (payload.get("body") or "")[:4000], "session": session},
        )
        if not created:
            return "duplicate"
        from .tasks import process_inbound

        transaction.on_commit(lambda: process_inbound.delay(inbound.pk))
    return "ok"


def handle_ack(payload: dict) -> str:
    ack = payload["ack"]
    row = OutboundMessage.objects.filter(waha_message_id__endswith=raw_id(payload["id"])).only("pk").first()
    if row is None or ack < 2:
        return "ignored"
    now = timezone.now()
    if ack >= 3:
        outbox.move(row.pk, (Status.SENT, Status.DELIVERED, Status.UNKNOWN), Status.READ, note="read", read_at=now)
    else:
        outbox.move(row.pk, (Status.SENT, Status.UNKNOWN), Status.DELIVERED, note="delivered", delivered_at=now)
    return "ok"
