"""An answer reaches the customer at most once, at the send pace, and not after an opt-out."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import session_state
from messaging.models import OptOut, SessionPause
from seller.conversations import delivery
from seller.models import Answer, Handoff
from seller.sending import SendLater

from .conftest import CHAT, PHONE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answer(chat):
    def make(text="Здравствуйте! Заказ выдан.", kind=Answer.Kind.ANSWER, phone=PHONE):
        return Answer.objects.create(shop=chat.shop, order=chat.order, phone=phone, session="default", kind=kind,
                                     text=text)
    return make


def test_an_answer_sent_twice_reaches_the_customer_once(chat, answer):
    row = answer()
    delivery.send_answer(row.pk)
    delivery.send_answer(row.pk)  # a redelivered task

    assert [m["text"] for m in chat.sandbox.sent(CHAT)] == [row.text]
    row.refresh_from_db()
    assert row.status == "sent" and row.waha_message_id


def test_an_answer_found_sending_after_a_crash_is_never_sent_again(chat, answer):
    row = answer()
    Answer.objects.filter(pk=row.pk).update(status="sending")  # claimed and committed, then the worker died

    delivery.send_answer(row.pk)

    assert chat.sandbox.sent(CHAT) == []
    assert Answer.objects.get(pk=row.pk).status == "unknown"


def test_an_opt_out_that_arrives_before_sending_cancels_the_answer(chat, answer):
    row = answer()
    OptOut.objects.create(phone=PHONE, keyword="стоп")

    delivery.send_answer(row.pk)

    assert chat.sandbox.sent(CHAT) == []
    assert (Answer.objects.get(pk=row.pk).status, Answer.objects.get(pk=row.pk).reason) == ("cancelled", "opt_out")


def test_answers_keep_the_send_pace_of_the_whatsapp_number(chat, answer, settings):
    settings.WAHA_SEND_INTERVAL_SECONDS = 30
    first, second = answer(), answer(phone="+77019990011")
    delivery.send_answer(first.pk)

    with pytest.raises(SendLater):
        delivery.send_answer(second.pk)

    assert Answer.objects.get(pk=second.pk).status == "ready"
    assert len(chat.sandbox.sent()) == 1


def test_a_transient_waha_error_retries_and_a_permanent_one_hands_the_customer_to_a_person(chat, answer):
    row = answer()
    chat.sandbox.control("waha/faults", responses=[500, 400])

    with pytest.raises(SendLater):
        delivery.send_answer(row.pk)
    assert Answer.objects.get(pk=row.pk).status == "ready"
    delivery.send_answer(row.pk)

    assert (Answer.objects.get(pk=row.pk).status, Answer.objects.get(pk=row.pk).reason) == ("failed", "waha_http_400")
    assert Handoff.objects.get().reason == "send_failed"


def test_a_463_while_answering_pauses_the_number_and_the_answer_waits_for_the_pause_to_end(chat, answer):
    row = answer()
    chat.sandbox.control("waha/faults", responses=["463"])

    with pytest.raises(SendLater) as later:
        delivery.send_answer(row.pk)

    paused = session_state.paused_until("default")
    assert paused and later.value.seconds >= (paused - timezone.now()).total_seconds() - 60
    assert Answer.objects.get(pk=row.pk).status == "ready"
    assert not Handoff.objects.exists()  # nothing to hand over: the answer is only late

    delivery.send_answer(row.pk)  # a redelivered task while the number is paused
    assert delivery.reconcile()["answers"] == 0  # the reconciler leaves it to its retry
    assert chat.sandbox.sent(CHAT) == []

    SessionPause.objects.update(paused_until=timezone.now() - timedelta(seconds=1))  # the pause is over
    delivery.send_answer(row.pk)

    assert [m["text"] for m in chat.sandbox.sent(CHAT)] == [row.text]
    assert Answer.objects.get(pk=row.pk).status == "sent" and not Handoff.objects.exists()


def test_an_answer_deferred_by_a_463_whose_retry_was_lost_is_sent_by_the_reconciler_after_the_pause(chat, answer,
                                                                                                     settings):
    row = answer()
    chat.sandbox.control("waha/faults", responses=["463"])
    with pytest.raises(SendLater):
        delivery.send_answer(row.pk)
    SessionPause.objects.update(paused_until=timezone.now() - timedelta(seconds=1))
    Answer.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(minutes=settings.SELLER_STUCK_MINUTES + 1))

    assert delivery.reconcile()["answers"] == 1
