"""An answer to the customer's WhatsApp, at most once, as the outbox does it: the row is
`sending` and committed before the WAHA request; a run that finds it `sending` (its worker died)
marks it `unknown` for an operator and never sends again. The send pace and 463 pauses apply:
an answer WhatsApp refused with a 463 waits until the number's pause ends, then goes."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from messaging import outbox, pace, session_state
from messaging.models import InboundMessage, OptOut
from messaging.phones import chat_id
from messaging.waha import WahaClient, WahaError, WahaReachoutTimelock
from seller import send_history
from seller.models import Answer, Handoff
from seller.sending import SendLater, backoff

from . import handoffs

log = logging.getLogger(__name__)
Status, Kind = Answer.Status, Answer.Kind
TIMELOCK = "reachout timelock (463): waits for the pause to end"


def move(answer_id: int, expected: str, new_status: str, **fields) -> bool:
    return bool(Answer.objects.filter(pk=answer_id, status=expected).update(status=new_status, updated_at=timezone.now(),
                                                                             **fields))


def send_answer(answer_id: int):
    answer = Answer.objects.select_related("shop").filter(pk=answer_id).first()
    if answer is None:
        return
    if answer.status == Status.SENDING:
        move(answer_id, Status.SENDING, Status.UNKNOWN, reason="found sending on redelivery")
        return
    if answer.status != Status.READY:
        return
    why_not = stopped(answer)
    if why_not:
        move(answer_id, Status.READY, Status.CANCELLED, reason=why_not)
        return
    paused = session_state.paused_until(answer.session)
    if paused and answer.reason == TIMELOCK:
        return  # its retry comes when the pause ends (or the reconciler's, if that retry is lost)
    if paused and session_state.is_new_contact(answer.phone, answer.session):
        raise SendLater(15 * 60, "session paused for new contacts (463)")
    turn = pace.take_turn(answer.session, last_sent=lambda: send_history.last_sent(answer.session))
    if turn.retry_in:
        raise SendLater(turn.retry_in, "pace")
    # Claimed and committed before the request: a crash from here on never sends twice.
    if not Answer.objects.filter(pk=answer_id, status=Status.READY).update(
            status=Status.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now()):
        return
    try:
        with turn.request():  # at its turn, never before: the request leaves right after
            sent = WahaClient(answer.session).send_text(chat_id(answer.phone), answer.text)
    except WahaError as exc:
        failed(answer, exc)
        return
    move(answer_id, Status.SENDING, Status.SENT, waha_message_id=sent.message_id, sent_at=timezone.now(), reason="")
    log.info("answer %s (%s) sent for shop %s", answer_id, answer.kind, answer.shop_id)


def stopped(answer: Answer) -> str:
    """Checked again just before sending: the customer may have opted out, or a person taken over."""
    if answer.kind != Kind.CONFIRMATION and OptOut.objects.filter(phone=answer.phone).exists():
        return "opt_out"
    if answer.kind == Kind.ANSWER and handoffs.has_open(answer.session, answer.phone):
        return "handoff"
    return ""


def failed(answer: Answer, exc: WahaError):
    error = str(exc)[:100]
    if exc.maybe_sent:
        move(answer.pk, Status.SENDING, Status.UNKNOWN, reason=error)
        return
    if isinstance(exc, WahaReachoutTimelock):
        # Not a failure: WhatsApp sent nothing and will take it after the pause. The customer
        # only waits; no person is needed.
        until = session_state.pause(answer.session, str(exc))
        move(answer.pk, Status.SENDING, Status.READY, reason=TIMELOCK)
        raise SendLater(max((until - timezone.now()).total_seconds(), 60), TIMELOCK)
    if exc.transient and answer.attempts + 1 < settings.WAHA_SEND_MAX_ATTEMPTS:
        move(answer.pk, Status.SENDING, Status.READY, reason=error)  # WAHA answered: nothing left
        raise SendLater(backoff(answer.attempts + 1), error)
    move(answer.pk, Status.SENDING, Status.FAILED, reason=exc.reason if not exc.transient else "retries_exhausted")
    if answer.kind in (Kind.ANSWER, Kind.ACK):
        # The customer asked and got nothing: a person must pick it up, never dropped.
        handoffs.open_handoff(answer.shop, answer.order, answer.session, answer.phone, Handoff.Reason.SEND)


def reconcile(now=None) -> dict:
    """Every minute, from the reconciler: replies no task finished are handed to their task
    again; answers waiting to be sent are published again; `sending` ones whose worker is gone
    become `unknown` (never resent blindly)."""
    now = now or timezone.now()
    replies = list(InboundMessage.objects.filter(
        processed_at__lt=now - timedelta(minutes=2), received_at__gte=now - timedelta(hours=24),
        is_opt_out=False, handled__isnull=True).exclude(phone="").values_list("pk", flat=True)[:200])
    for inbound_id in replies:
        outbox.publish("seller.handle_reply", inbound_id)
    paused = [row["session"] for row in session_state.paused_sessions(now)]
    stuck = list(Answer.objects.filter(status=Status.READY, updated_at__lt=now - timedelta(
        minutes=settings.SELLER_STUCK_MINUTES)).exclude(reason=TIMELOCK, session__in=paused)
        .values_list("pk", flat=True)[:200])
    Answer.objects.filter(pk__in=stuck).update(updated_at=now)
    for answer_id in stuck:
        outbox.publish(handoffs.SEND_TASK, answer_id)
    lost = Answer.objects.filter(status=Status.SENDING, updated_at__lt=now - timedelta(seconds=settings.WAHA_TIMEOUT + 65))
    return {"replies": len(replies), "answers": len(stuck),
            "answers_unknown": lost.update(status=Status.UNKNOWN, reason="still sending: the worker was lost")}
