"""Handoffs: a conversation a person takes over. Opening one is idempotent per chat (one open
handoff per WhatsApp number and phone, kept by the database); an operator answers from admin
and closes it."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from messaging import outbox
from seller.models import Answer, Handoff

log = logging.getLogger(__name__)
SEND_TASK = "seller.send_answer"


def open_for(session: str, phone: str) -> Handoff | None:
    return Handoff.objects.filter(session=session, phone=phone, status=Handoff.Status.OPEN).first()


def has_open(session: str, phone: str) -> bool:
    return Handoff.objects.filter(session=session, phone=phone, status=Handoff.Status.OPEN).exists()


def open_handoff(shop, order, session: str, phone: str, reason: str) -> tuple[Handoff, bool]:
    """The chat's open handoff, opened now if there was none; (handoff, opened_now)."""
    existing = open_for(session, phone)
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            handoff = Handoff.objects.create(shop=shop, order=order, session=session, phone=phone, reason=reason)
    except IntegrityError:  # opened by another worker meanwhile
        return open_for(session, phone), False
    log.info("handoff %s opened (%s) for shop %s", handoff.pk, reason, shop.pk)
    return handoff, True


def close(handoff_ids, by: str = "") -> int:
    closed = Handoff.objects.filter(pk__in=list(handoff_ids), status=Handoff.Status.OPEN).update(
        status=Handoff.Status.CLOSED, closed_at=timezone.now(), closed_by=by[:150])
    return closed


def operator_reply(handoff: Handoff, text: str, author: str) -> Answer:
    """An operator's words to the customer, sent through WAHA like any answer (pace included)."""
    text = text.strip()
    if not text:
        raise ValueError("the reply is empty")
    with transaction.atomic():
        answer = Answer.objects.create(shop=handoff.shop, order=handoff.order, handoff=handoff, phone=handoff.phone,
                                       session=handoff.session, kind=Answer.Kind.OPERATOR, text=text, author=author)
        transaction.on_commit(lambda: outbox.publish(SEND_TASK, answer.pk))
    return answer
