"""A customer's reply, after the webhook stored it: who wrote (an @lid sender is mapped to a
phone through WAHA), which of our messages it answers, and whether it opts out or back in."""

import logging

from django.db import transaction
from django.utils import timezone

from . import optouts, outbox, session_state
from .models import InboundMessage, OutboundMessage
from .phones import chat_id, normalize_phone
from .waha import WahaClient, WahaError

log = logging.getLogger(__name__)
CONFIRMATION = "Вы отписаны от сообщений магазина. / Сіз хабарламалардан бас тарттыңыз. / You are unsubscribed."


class LidUnavailable(Exception):
    """WAHA could not map an @lid sender now; the task tries again later."""


def process(inbound_id: int):
    inbound = InboundMessage.objects.filter(pk=inbound_id, processed_at__isnull=True).first()
    if inbound is None:
        return
    phone = inbound.phone or phone_for_lid(inbound)
    keyword = optouts.opt_out_keyword(inbound.body)
    last = None
    if phone:
        ours = OutboundMessage.objects.filter(session_state.sent_through(inbound.session), phone=phone, sent_at__isnull=False)
        last = ours.select_related("shop").order_by("-sent_at").first()
    with transaction.atomic():
        claimed = InboundMessage.objects.filter(pk=inbound_id, processed_at__isnull=True).update(
            processed_at=timezone.now(), phone=phone or "", in_reply_to=last, is_opt_out=bool(keyword and phone)
        )
        if not claimed:
            return  # another run got here first
        if last and not last.replied_at:
            OutboundMessage.objects.filter(pk=last.pk).update(replied_at=timezone.now())
        newly = bool(keyword and phone and optouts.record_opt_out(phone, keyword, shop=last.shop if last else None))
        if phone and not keyword and optouts.is_resubscribe(inbound.body) and optouts.resubscribe(phone):
            log.info("a customer opted back in by reply")
    if newly:
        # After commit, once: a crash here loses the confirmation, never doubles it.
        log.info("opt-out recorded from a reply (%s)", keyword)
        try:
            WahaClient(inbound.session or None).send_text(chat_id(phone), CONFIRMATION)
        except WahaError as exc:
            log.warning("opt-out confirmation not sent: %s", exc)
    if phone and not keyword:
        outbox.publish("seller.handle_reply", inbound_id)  # the seller answers; messaging names its task only


def phone_for_lid(inbound: InboundMessage) -> str | None:
    if not inbound.sender.endswith("@lid"):
        return None
    try:
        return normalize_phone(WahaClient(inbound.session or None).phone_for_lid(inbound.sender))
    except WahaError as exc:
        if exc.transient:
            raise LidUnavailable(str(exc)) from exc
        log.warning("an @lid sender could not be mapped to a phone: %s", exc)
        return None
