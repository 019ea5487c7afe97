"""Handoffs: a conversation a person takes over. Opening one is idempotent per chat (one open
handoff per WhatsApp number and phone, kept by the database); an operator answers from admin
and closes it."""

import logging
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from messaging import outbox
from seller import guardrails
from seller.models import Answer, Handoff

from . import answerer

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


def operator_problems(handoff: Handoff, text: str) -> list[str]:
    """What keeps an operator's reply from going out: the AI answers' guardrails that make sense
    for a person's words (a link to another site, a phone number: the customer is answered here,
    in this chat). Numbers, dates and promises are the operator's to give."""
    data = answerer.facts(handoff.shop, handoff.order, "ru")
    found = guardrails.findings(text, data)
    problems = [f"a link to another site ({finding.detail}): only links to kaspi.kz may be sent"
                for finding in found if finding.check == "link" and not on_kaspi(finding.detail)]
    if any(finding.check == "phone" for finding in found):
        problems.append("a phone number: the customer is answered in this chat, not sent to another number")
    return problems


def on_kaspi(link: str) -> bool:
    host = re.sub(r"(?i)^(https?://)?(www\.)?", "", link).split("/")[0].lower()
    return host == "kaspi.kz" or host.endswith(".kaspi.kz")


def operator_reply(handoff: Handoff, text: str, author: str) -> Answer:
    """An operator's words to the customer, sent through WAHA like any answer (pace included)."""
    text = text.strip()
    if not text:
        raise ValueError("the reply is empty")
    problems = operator_problems(handoff, text)
    if problems:
        raise ValueError("the reply has " + "; ".join(problems))
    with transaction.atomic():
        answer = Answer.objects.create(shop=handoff.shop, order=handoff.order, handoff=handoff, phone=handoff.phone,
                                       session=handoff.session, kind=Answer.Kind.OPERATOR, text=text, author=author)
        transaction.on_commit(lambda: outbox.publish(SEND_TASK, answer.pk))
    return answer
