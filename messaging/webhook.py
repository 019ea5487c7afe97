"""WAHA's webhook: signed events about replies and delivery."""

import hashlib
import hmac
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import optouts, outbox
from .models import InboundMessage, OutboundMessage
from .phones import chat_id, normalize_phone
from .waha import WahaClient, WahaError, raw_id

log = logging.getLogger(__name__)
Status = OutboundMessage.Status
CONFIRMATION = "Вы отписаны от сообщений магазина. / Сіз хабарламалардан бас тарттыңыз. / You are unsubscribed."


class BadEvent(Exception):
    """The event is malformed or unknown: 400, nothing changes."""


def signature_ok(raw_body: bytes, signature: str) -> bool:
    key = settings.WAHA_WEBHOOK_HMAC_KEY
    if not key:
        return settings.DEBUG  # unsigned webhooks are accepted only in development
    expected = hmac.new(key.encode(), raw_body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, (signature or "").strip().lower())


def handle_event(event: dict):
    if not isinstance(event, dict) or not isinstance(event.get("payload"), dict):
        raise BadEvent("no payload")
    kind = event.get("event")
    if kind == "message":
        handle_incoming(event["payload"], event.get("session") or settings.WAHA_SESSION)
    elif kind in ("message.ack", "message.ack.group"):
        handle_ack(event["payload"])
    elif kind in ("session.status", "message.any", "presence.update", "message.reaction"):
        pass  # known, nothing to do
    else:
        raise BadEvent(f"unknown event {kind!r}")


def sender_phone(payload: dict, session: str) -> str | None:
    sender = str(payload.get("from") or "")
    if sender.endswith("@lid"):
        try:
            return normalize_phone(WahaClient(session).phone_for_lid(sender))
        except WahaError:
            log.warning("could not map a lid sender to a phone")
            return None
    if sender.endswith("@c.us") or sender.endswith("@s.whatsapp.net"):
        return normalize_phone(sender.split("@")[0])
    return None  # groups, channels, status broadcasts


def handle_incoming(payload: dict, session: str):
    if payload.get("fromMe"):
        return
    waha_id = str(payload.get("id") or "")
    if not waha_id:
        raise BadEvent("message without id")
    phone = sender_phone(payload, session)
    if phone is None:
        return
    body = str(payload.get("body") or "")
    keyword = optouts.opt_out_keyword(body)
    last = OutboundMessage.objects.filter(phone=phone, sent_at__isnull=False).order_by("-sent_at").first()
    with transaction.atomic():
        inbound, created = InboundMessage.objects.get_or_create(
            waha_id=waha_id,
            defaults={"phone": phone, "body": body[:4000], "session": session, "in_reply_to": last, "is_opt_out": bool(keyword)},
        )
        if not created:
            return  # a repeated delivery of the same event
        if last and not last.replied_at:
            OutboundMessage.objects.filter(pk=last.pk).update(replied_at=timezone.now())
        newly = keyword and optouts.record_opt_out(phone, keyword, shop=last.shop if last else None)
    if newly:
        log.info("opt-out recorded from a reply (%s)", keyword)
        try:
            WahaClient(session).send_text(chat_id(phone), CONFIRMATION)
        except WahaError as exc:
            log.warning("opt-out confirmation not sent: %s", exc)


def handle_ack(payload: dict):
    ack = payload.get("ack")
    message_id = str(payload.get("id") or "")
    if not message_id or not isinstance(ack, int):
        raise BadEvent("ack without id or level")
    row = OutboundMessage.objects.filter(waha_message_id__endswith=raw_id(message_id)).first()
    if row is None:
        return
    now = timezone.now()
    if ack >= 3:
        outbox.move(row.pk, (Status.SENT, Status.DELIVERED, Status.UNKNOWN), Status.READ, note="read", read_at=now)
    elif ack == 2:
        outbox.move(row.pk, (Status.SENT, Status.UNKNOWN), Status.DELIVERED, note="delivered", delivered_at=now)
