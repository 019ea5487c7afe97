"""A customer's reply, handled: classified, then answered from the facts, handed to a person,
or left alone. Replies of one chat are handled one at a time (a Redis lock); a reply that
arrives while the answer is being written is folded into it. Nothing is sent from here: the
answer is a row, sent by `delivery` after commit, at most once."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import LockError

from config import redis
from kaspi_sync.models import Shop
from messaging import optouts, outbox, session_state
from messaging.models import InboundMessage, OptOut, OutboundMessage
from seller.models import Answer, Handoff, HandledReply

from . import answerer, classifier, handoffs
from .classifier import Label

log = logging.getLogger(__name__)
Outcome, Reason, Kind = HandledReply.Outcome, Handoff.Reason, Answer.Kind
LOCK_SECONDS = 300  # longer than two model calls at their deadline
FOLD_ROUNDS = 3
WINDOW = timedelta(hours=24)
QUESTIONS = (classifier.ORDER_QUESTION, classifier.SHOP_QUESTION)
AUTOMATIC = (Kind.ANSWER, Kind.ACK)
HANDOFF_FOR = {classifier.COMPLAINT: Reason.COMPLAINT, classifier.PERSON: Reason.PERSON,
               classifier.UNKNOWN: Reason.MODEL}


class ChatBusy(Exception):
    """Another worker handles this chat now; the task tries again shortly."""


@dataclass
class Plan:
    shop: Shop | None
    order: object
    label: Label
    outcome: str
    answer_kind: str = ""
    answer_text: str = ""
    handoff_reason: str = ""
    note: str = ""


def handle(inbound_id: int) -> Plan | None:
    inbound = InboundMessage.objects.filter(pk=inbound_id).first()
    if inbound is None or inbound.processed_at is None or inbound.is_opt_out or not inbound.phone:
        return None
    if HandledReply.objects.filter(inbound_id=inbound_id).exists():
        return None  # folded into an earlier answer, or handled by an earlier run
    session = inbound.session or settings.WAHA_SESSION
    lock = redis.client().lock(redis.key("chat", session, inbound.phone), timeout=LOCK_SECONDS, blocking_timeout=5)
    if not lock.acquire():
        raise ChatBusy()
    try:
        return handle_chat(session, inbound.phone)
    finally:
        try:
            lock.release()
        except LockError:
            pass  # it expired: the unique reply rows still keep the work from being done twice


def handle_chat(session: str, phone: str) -> Plan | None:
    replies = waiting_replies(session, phone)
    plan = None
    for _ in range(FOLD_ROUNDS):
        if not replies:
            return None
        plan = decide(session, phone, replies)
        newer = waiting_replies(session, phone)
        if len(newer) == len(replies):
            break
        replies = newer  # the customer wrote again while we were writing: answer everything at once
    record(session, phone, replies, plan)
    return plan


def waiting_replies(session: str, phone: str) -> list[InboundMessage]:
    since = timezone.now() - WINDOW
    return list(InboundMessage.objects.filter(
        session__in={session, ""} if session == settings.WAHA_SESSION else {session}, phone=phone,
        processed_at__isnull=False, is_opt_out=False, handled__isnull=True, received_at__gte=since,
    ).order_by("received_at", "pk"))


def context(session: str, replies: list[InboundMessage]):
    """The shop and order the customer is answering: our message they replied to, or the shop
    that owns this WhatsApp number."""
    ours = next((r.in_reply_to for r in reversed(replies) if r.in_reply_to_id), None)
    if ours is None:
        ours = (OutboundMessage.objects.filter(session_state.sent_through(session), phone=replies[-1].phone,
                                               sent_at__isnull=False).order_by("-sent_at").first())
    if ours is not None:
        return ours.shop, ours.order
    shops = Shop.objects.filter(is_active=True)
    shop = (shops.filter(waha_session=session).first()
            or (shops.filter(waha_session="").first() if session == settings.WAHA_SESSION else None))
    return shop, None


def decide(session: str, phone: str, replies: list[InboundMessage]) -> Plan:
    shop, order = context(session, replies)
    text = "\n".join(r.body for r in replies)
    if shop is None:
        return Plan(None, None, Label(classifier.OTHER, "none", "ru"), Outcome.NO_SHOP)
    if OptOut.objects.filter(phone=phone).exists():
        return Plan(shop, order, Label(classifier.OPT_OUT, "earlier", "ru"), Outcome.OPT_OUT, note="opted out before")
    if handoffs.has_open(session, phone):  # a person handles the chat: the AI is silent
        return Plan(shop, order, classifier.classify(text, use_model=False), Outcome.WITH_OPERATOR)
    label = classifier.classify(text)
    if label.label == classifier.OPT_OUT:
        return Plan(shop, order, label, Outcome.OPT_OUT, Kind.CONFIRMATION, optouts.confirmation(shop.name))
    if label.label == classifier.OTHER:
        return Plan(shop, order, label, Outcome.SILENT)
    data = answerer.facts(shop, order, "kk" if shop.language == "kk" else label.language)
    left = settings.SELLER_MAX_AUTO_REPLIES - automatic_answers(session, phone)
    if label.label == classifier.THANKS:
        if left <= 0:
            return Plan(shop, order, label, Outcome.LIMIT)
        draft = answerer.template(answerer.THANKS, data)
        return Plan(shop, order, label, Outcome.ANSWERED, Kind.ANSWER, draft.text) if not draft.problem else \
            Plan(shop, order, label, Outcome.SILENT, note=draft.problem)
    reason, note = HANDOFF_FOR.get(label.label, ""), ""
    if not reason and left <= 0:
        reason = Reason.LIMIT
    if not reason and earlier_replies(session, phone) + len(replies) >= 3:
        reason = Reason.THIRD_REPLY
    if not reason:
        draft = answerer.write(data, conversation(session, phone))
        if not draft.problem:
            return Plan(shop, order, label, Outcome.ANSWERED, Kind.ANSWER, draft.text)
        reason = {"no_answer": Reason.NO_ANSWER, "guardrail": Reason.GUARDRAIL}.get(draft.problem.split(":")[0], Reason.MODEL)
        note = draft.problem
    plan = Plan(shop, order, label, Outcome.HANDED_OFF, handoff_reason=reason, note=note)
    if left > 0:
        ack = answerer.template(answerer.ACK, data)
        if not ack.problem:
            plan.answer_kind, plan.answer_text = Kind.ACK, ack.text
    return plan


def automatic_answers(session: str, phone: str) -> int:
    """Automatic messages in this chat in the last 24 h (the chat's lock makes the count exact)."""
    return Answer.objects.filter(session=session, phone=phone, kind__in=AUTOMATIC, created_at__gte=timezone.now() - WINDOW
                                 ).exclude(status__in=(Answer.Status.FAILED, Answer.Status.CANCELLED)).count()


def earlier_replies(session: str, phone: str) -> int:
    """Replies the seller handled in this chat in the last 24 h, since a person last closed it."""
    since = timezone.now() - WINDOW
    closed = Handoff.objects.filter(session=session, phone=phone, closed_at__gte=since).order_by("-closed_at").first()
    if closed:
        since = closed.closed_at
    return HandledReply.objects.filter(inbound__phone=phone, handoff__isnull=True, handled_at__gte=since,
                                       label__in=QUESTIONS).filter(inbound__session__in={session, ""}).count()


def conversation(session: str, phone: str, limit: int = 8) -> list[dict]:
    """The chat so far, oldest first: our messages and the customer's, as data for the model."""
    since = timezone.now() - timedelta(days=30)
    ours = [(m.sent_at, "shop", m.text) for m in OutboundMessage.objects.filter(
        session_state.sent_through(session), phone=phone, sent_at__gte=since)]
    ours += [(a.sent_at or a.created_at, "shop", a.text) for a in Answer.objects.filter(
        session=session, phone=phone, created_at__gte=since, status=Answer.Status.SENT)]
    theirs = [(m.received_at, "customer", m.body) for m in InboundMessage.objects.filter(
        phone=phone, received_at__gte=since, is_opt_out=False)]
    chat = sorted(ours + theirs, key=lambda item: item[0])[-limit:]
    return [{"from": who, "text": (text or "")[:500]} for _, who, text in chat]


def record(session: str, phone: str, replies: list[InboundMessage], plan: Plan):
    """The decision, in one transaction: the reply rows (unique per reply, so a second run
    changes nothing), the handoff, the opt-out, the answer; the answer is published after commit."""
    try:
        with transaction.atomic():
            handoff = None
            if plan.handoff_reason:
                handoff, _ = handoffs.open_handoff(plan.shop, plan.order, session, phone, plan.handoff_reason)
            elif plan.outcome == Outcome.WITH_OPERATOR:
                handoff = handoffs.open_for(session, phone)
            answer = None
            send = bool(plan.answer_text)
            if plan.answer_kind == Kind.CONFIRMATION:
                send = optouts.record_opt_out(phone, f"model:{plan.label.source}", shop=plan.shop)
            if send:
                answer = Answer.objects.create(
                    shop=plan.shop, order=plan.order, handoff=handoff, phone=phone, session=session,
                    kind=plan.answer_kind, text=plan.answer_text, first_reply_at=replies[0].received_at)
                transaction.on_commit(lambda: outbox.publish(handoffs.SEND_TASK, answer.pk))
            HandledReply.objects.bulk_create([
                HandledReply(inbound=reply, shop=plan.shop, label=plan.label.label, label_source=plan.label.source,
                             language=plan.label.language, outcome=plan.outcome, answer=answer, handoff=handoff)
                for reply in replies])
    except IntegrityError:
        log.info("replies already handled by another run")
        return
    log.info("replies %s: %s (%s by %s)%s%s", [r.pk for r in replies], plan.outcome, plan.label.label,
             plan.label.source, f", handoff {plan.handoff_reason}" if plan.handoff_reason else "",
             f", {plan.note}" if plan.note else "")
