"""Delivery through WAHA (the sandbox over real HTTP): retries, permanent failures, WhatsApp's
463 pause, the re-check at send time, and human-like pacing."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from kaspi_sync.models import Order, Shop
from messaging import session_state
from seller import sending
from messaging.models import OptOut, OutboundMessage, SessionPause
from seller.tasks import send_whatsapp
from seller import eligibility
from tests.helpers import wait_until
from tests.policy.conftest import almaty

Status = OutboundMessage.Status
CHAT = "77011234567@c.us"
TEXT = "Айгерим, спасибо за заказ в Tech Store Almaty!"


@pytest.fixture
def written(make_message):
    """A row that passed the policy (its place reserved) and has its text: ready to send."""
    def make(**kwargs):
        message = make_message(**kwargs)
        assert eligibility.check_message(message.pk)
        OutboundMessage.objects.filter(pk=message.pk).update(status=Status.GENERATED, text=TEXT)
        return message
    return make


@pytest.fixture
def quick_retries(settings):
    settings.WAHA_RETRY_BACKOFF_SECONDS = 0.1


def faults_left(sandbox):
    return sandbox.control("waha/faults")["responses"]


def status_of(message):
    return OutboundMessage.objects.get(pk=message.pk)


@pytest.mark.django_db(transaction=True)
class TestWithAWorker:
    def test_waha_5xx_then_recovery_sends_once(self, sandbox, written, celery_worker, quick_retries):
        sandbox.control("waha/faults", responses=[500, 503, 422])
        message = written()

        send_whatsapp.delay(message.pk)

        row = wait_until(lambda: status_of(message) if status_of(message).status == "sent" else None, what="the send")
        assert [m["text"] for m in sandbox.sent(CHAT)] == [TEXT]
        assert row.attempts == 4 and row.waha_message_id and row.last_error == ""
        assert list(row.events.values_list("status", flat=True)) == ["approved"] + ["sending", "generated"] * 3 + ["sending", "sent"]

    def test_transient_errors_are_retried_a_bounded_number_of_times(self, sandbox, written, celery_worker,
                                                                    quick_retries, settings):
        settings.WAHA_SEND_MAX_ATTEMPTS = 3
        sandbox.control("waha/faults", responses=[500, 500, 500, 500, 500])
        message = written()

        send_whatsapp.delay(message.pk)

        row = wait_until(lambda: status_of(message) if status_of(message).status == "failed" else None, what="failure")
        assert (row.reason, row.attempts, row.reserved_at) == ("retries_exhausted", 3, None)
        assert faults_left(sandbox) == [500, 500]  # exactly three tries reached WAHA
        assert sandbox.sent(CHAT) == []

    def test_a_4xx_fails_the_row_with_its_reason_and_is_not_retried(self, sandbox, written, celery_worker,
                                                                    quick_retries):
        sandbox.control("waha/faults", responses=[400, 500])
        message = written()

        send_whatsapp.delay(message.pk)

        row = wait_until(lambda: status_of(message) if status_of(message).status == "failed" else None, what="failure")
        time.sleep(1)  # ten backoffs' worth: a retry would have taken the next fault by now
        row.refresh_from_db()
        assert (row.status, row.reason, row.attempts) == ("failed", "waha_http_400", 1)
        assert "Bad Request" in row.last_error
        assert faults_left(sandbox) == [500]
        assert sandbox.sent(CHAT) == []


class TestReachoutTimelock:
    def test_a_463_pauses_new_contacts_and_tells_the_operator(self, sandbox, written):
        sandbox.control("waha/faults", responses=["463", 500])
        message = written()

        sending.send_message(message.pk)  # no SendLater: nothing to retry in a loop

        row = status_of(message)
        assert row.status == "deferred" and row.attempts == 1
        assert timedelta(hours=23) < row.not_before - timezone.now() <= timedelta(hours=24)
        [paused] = session_state.paused_sessions()
        assert paused["session"] == "default" and paused["paused_until"] == row.not_before
        assert "463" in paused["reason"]
        assert faults_left(sandbox) == [500]

    def test_while_paused_a_new_contact_waits_without_asking_waha(self, sandbox, written):
        session_state.pause("default", "463 reachout timelock")
        sandbox.control("waha/faults", responses=[500])
        message = written()

        sending.send_message(message.pk)

        assert status_of(message).status == "deferred"
        assert faults_left(sandbox) == [500]

    def test_while_paused_a_customer_we_already_talk_to_still_gets_the_message(self, sandbox, written, policy_shop):
        policy_shop.cooldown_hours = 0
        policy_shop.save()
        earlier = written()
        sending.send_message(earlier.pk)
        assert status_of(earlier).status == "sent"
        session_state.pause("default", "463 reachout timelock")
        message = written()

        sending.send_message(message.pk)

        assert status_of(message).status == "sent"
        assert len(sandbox.sent(CHAT)) == 2

    def test_a_customer_reached_through_another_session_is_new_to_this_one(self, make_message):
        other = Shop.objects.create(name="Второй магазин", kaspi_token="kaspi-other-token-02", waha_session="shop-2")
        make_message(shop=other, status=Status.SENT)
        assert session_state.is_new_contact("+77011234567", "default")
        assert not session_state.is_new_contact("+77011234567", "shop-2")

    def test_resuming_lifts_the_pause(self, db):
        session_state.pause("default", "463")
        assert session_state.resume("default") == 1
        assert session_state.paused_sessions() == [] and not SessionPause.objects.exists()


class TestRecheckAtSendTime:
    def test_an_opt_out_that_arrived_meanwhile_stops_the_message(self, sandbox, written,
                                                                 django_capture_on_commit_callbacks):
        message = written()
        OptOut.objects.create(phone="+77011234567")

        with django_capture_on_commit_callbacks(execute=True):
            sending.send_message(message.pk)

        row = status_of(message)
        assert (row.status, row.reason, row.reserved_at) == ("blocked", "opt_out", None)
        assert sandbox.sent(CHAT) == []

    def test_an_order_cancelled_meanwhile_stops_the_message(self, sandbox, written):
        message = written()
        Order.objects.filter(pk=message.order_id).update(state=Order.State.CANCELLED)

        sending.send_message(message.pk)

        assert (status_of(message).status, status_of(message).reason) == ("cancelled", "order_cancelled")
        assert sandbox.sent(CHAT) == []

    def test_a_text_ready_inside_quiet_hours_waits_for_morning_and_keeps_its_text(self, sandbox, written, policy_shop):
        message = written()
        # The order was placed that evening, so only quiet hours (not its own time) hold it back.
        Order.objects.filter(pk=message.order_id).update(created_at_kaspi=almaty(2026, 11, 24, 20, 0))
        policy_shop.quiet_hours = "21:00-09:00"
        policy_shop.save()

        sending.send_message(message.pk, now=almaty(2026, 11, 24, 23, 0))

        row = status_of(message)
        assert (row.status, row.not_before, row.text) == ("deferred", almaty(2026, 11, 25, 9, 0), TEXT)
        assert row.reserved_at is not None  # still holds its place: it will be sent
        assert sandbox.sent(CHAT) == []
        assert eligibility.release_due(now=almaty(2026, 11, 25, 9, 0)) == [(message.pk, Status.GENERATED)]
        sending.send_message(message.pk, now=almaty(2026, 11, 25, 9, 0))
        assert status_of(message).status == "sent"
        assert [m["text"] for m in sandbox.sent(CHAT)] == [TEXT]

    def test_a_number_not_on_whatsapp_is_blocked_and_gives_its_place_back(self, sandbox, written,
                                                                          django_capture_on_commit_callbacks):
        sandbox.control("waha/not-on-whatsapp", phone="7011234567")
        message = written()

        with django_capture_on_commit_callbacks(execute=True):
            sending.send_message(message.pk)

        row = status_of(message)
        assert (row.status, row.reason, row.reserved_at) == ("blocked", "no_whatsapp", None)


def test_human_like_pacing_shows_seen_and_typing_before_the_text(sandbox, written, settings):
    settings.WAHA_HUMAN_PACING = True
    message = written()

    sending.send_message(message.pk)

    actions = sandbox.get("waha/actions", chat_id=CHAT)
    assert [a["action"] for a in actions] == ["sendSeen", "startTyping", "stopTyping"]
    assert actions[2]["timestamp"] - actions[1]["timestamp"] >= 1.5  # typing lasts a moment
    assert actions[2]["timestamp"] <= sandbox.sent(CHAT)[0]["timestamp"]
