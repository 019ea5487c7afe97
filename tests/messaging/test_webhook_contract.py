"""WAHA's contract in full: every webhook shape gets the documented answer (unknown events 2xx,
bad signature headers and over-long ids 4xx, acks matched by exact id, ack -1 and a 463 by ack),
permanent 422s fail at once, sends ask for no link preview, and a configuration that would refuse
every webhook is a start-up error and shows in /ai-seller/status."""

import pytest
import requests
from django.conf import settings
from django.core.checks import run_checks

from messaging import outbox
from messaging.models import InboundMessage, LidOptOut, OptOut, OutboundMessage, SessionPause, WebhookCount
from seller.sending import send_message
from tests.helpers import wait_until

from tests.api.conftest import admin_token, api  # noqa: F401  (the API client fixtures)

from .test_webhook import message_event, post

pytestmark = pytest.mark.django_db(transaction=True)
Status = OutboundMessage.Status
PHONE, CHAT = "+77019876543", "77019876543@c.us"
KEY = settings.WAHA_WEBHOOK_HMAC_KEY


def ack_event(message_id, ack=3, envelope_id="evt_ack_1", **extra):
    return {"id": envelope_id, "event": "message.ack", "session": "default",
            "payload": {"id": message_id, "ack": ack, "ackName": "READ", "fromMe": True, **extra}}


def sent_row(make_message, message_id, phone=PHONE):
    row = make_message(phone=phone, status=Status.SENDING)
    assert outbox.move(row.pk, Status.SENDING, Status.SENT, waha_message_id=message_id)
    return row


def status_of(row):
    return OutboundMessage.objects.get(pk=row.pk)


class TestShapes:
    def test_an_unknown_event_gets_2xx_so_waha_does_not_retry_it(self, sandbox, webhooks_to_app):
        for kind in ("group.v2.join", "poll.vote", "engine.event", "label.upsert"):
            answer = sandbox.control("waha/event", event=kind, payload={"id": "x"})
            assert answer["status"] == 200
        assert [h["status"] for h in sandbox.get("waha/webhooks")] == [200] * 4  # one delivery each
        assert not InboundMessage.objects.exists()

    def test_a_non_ascii_signature_header_gets_401_not_500(self, live_server):
        raw = b'{"event": "message"}'
        for header in ({"X-Webhook-Hmac": "подпись".encode().decode("latin-1")},
                       {"X-Webhook-Hmac": "ab" * 64, "X-Webhook-Hmac-Algorithm": "шa512".encode().decode("latin-1")}):
            answer = requests.post(f"{live_server.url}/webhooks/waha", data=raw, timeout=10, headers=header)
            assert answer.status_code == 401
        assert WebhookCount.objects.get(outcome="bad_signature_header").count == 2

    @pytest.mark.parametrize("field", ["payload_id", "envelope_id", "sender"])
    def test_an_over_long_id_gets_400_every_time_and_stores_nothing(self, live_server, field):
        long = "false_77019876543@c.us_" + "A" * 300
        event = message_event(**({"payload_id": long} if field == "payload_id" else {}))
        if field == "envelope_id":
            event["id"] = "evt_" + "9" * 300
        if field == "sender":
            event["payload"]["from"] = "7" * 300 + "@c.us"
        for _ in range(2):  # WAHA's retry meets the same answer
            assert post(live_server.url, event, key=KEY).status_code == 400
        assert not InboundMessage.objects.exists()


def test_a_stop_from_a_number_we_never_write_to_is_kept_but_blocks_nothing(live_server):
    answer = post(live_server.url, message_event(sender="79161234567@c.us"), key=KEY)  # a Russian number
    assert answer.json()["result"] == "ok"
    reply = InboundMessage.objects.get()
    assert (reply.is_opt_out, reply.confirm_opt_out) == (True, False)
    assert not OptOut.objects.exists() and not LidOptOut.objects.exists()


class TestAcks:
    def test_an_ack_moves_only_the_row_with_exactly_that_id(self, live_server, make_message):
        mine = sent_row(make_message, "true_77019876543@c.us_3EB0AAAA")
        other = sent_row(make_message, "true_77011234567@c.us_3EB0FFFFAAAA", phone="+77011234567")

        assert post(live_server.url, ack_event("3EB0AAAA"), key=KEY).json()["result"] == "ok"  # raw id form
        assert post(live_server.url, ack_event("AAAA", envelope_id="evt_ack_2"), key=KEY).json()["result"] == "ignored"

        assert (status_of(mine).status, status_of(other).status) == ("read", "sent")

    def test_an_ack_whose_id_ends_in_an_underscore_gets_400_and_moves_nothing(self, live_server, make_message):
        row = sent_row(make_message, "true_77019876543@c.us_3EB0AAAA")
        assert post(live_server.url, ack_event("true_77019876543@c.us_"), key=KEY).status_code == 400
        assert status_of(row).status == "sent"

    def test_an_ack_that_comes_before_the_send_is_recorded_is_asked_again(self, live_server, make_message):
        row = make_message(phone=PHONE, status=Status.SENDING)
        OutboundMessage.objects.filter(pk=row.pk).update(chat_id=CHAT)
        ack = ack_event(f"true_{CHAT}_3EB0CCCC", ack=-1)

        early = post(live_server.url, ack, key=KEY)
        assert early.status_code == 503 and status_of(row).status == "sending"
        outbox.move(row.pk, Status.SENDING, Status.SENT, waha_message_id=f"true_{CHAT}_3EB0CCCC")
        again = post(live_server.url, ack, key=KEY)  # WAHA's retry, same envelope id

        assert again.json()["result"] == "ok" and status_of(row).status == "failed"

    def test_ack_minus_one_fails_the_row_with_wahas_reason(self, sandbox, webhooks_to_app, make_message):
        InboundMessage.objects.create(waha_id="false_earlier", sender=CHAT, phone=PHONE, session="default")
        sandbox.control("waha/webhook", ack_delay=0.1)
        sandbox.control("waha/faults", responses=["ack-error"])
        row = make_message(phone=PHONE, status=Status.GENERATED, text="Спасибо за заказ!")

        send_message(row.pk)

        failed = wait_until(lambda: OutboundMessage.objects.filter(pk=row.pk, status="failed").first(), what="ack -1")
        assert failed.reason == "ack_error" and "ack -1 (ERROR)" in failed.last_error
        assert list(failed.events.values_list("status", flat=True)) == ["sending", "sent", "failed"]
        assert not SessionPause.objects.exists()  # a customer we talk to already: no timelock

    @pytest.mark.parametrize("fault", ["ack-463", "ack-error"])
    def test_a_463_by_ack_pauses_the_session_like_the_http_one(self, sandbox, webhooks_to_app, make_message, fault):
        # ack-error: an unexplained failure of a first message to a new contact is read as the timelock.
        sandbox.control("waha/webhook", ack_delay=0.1)
        sandbox.control("waha/faults", responses=[fault])
        row = make_message(phone=PHONE, status=Status.GENERATED, text="Спасибо за заказ!")

        send_message(row.pk)

        failed = wait_until(lambda: OutboundMessage.objects.filter(pk=row.pk, status="failed").first(), what="ack -1")
        assert failed.reason == "reachout_timelock"
        assert SessionPause.objects.get().session == "default"


class TestSending:
    @pytest.mark.parametrize("fault, reason", [("422-no-session", "waha_no_session"),
                                               ("422-core", "waha_core_default_only")])
    def test_a_permanent_422_fails_at_once_with_the_reason(self, sandbox, make_message, fault, reason):
        sandbox.control("waha/faults", responses=[fault])
        row = make_message(phone=PHONE, status=Status.GENERATED, text="Спасибо за заказ!")

        send_message(row.pk)  # no retry raised

        failed = status_of(row)
        assert (failed.status, failed.reason, failed.attempts) == ("failed", reason, 1)
        assert "422" in failed.last_error and sandbox.sent() == []

    def test_a_send_asks_waha_for_no_link_preview(self, sandbox, make_message):
        text = "Оставьте отзыв: https://kaspi.kz/shop/review/productreview?orderCode=1&productCode=2&rating=5"
        row = make_message(phone=PHONE, status=Status.GENERATED, text=text)

        send_message(row.pk)

        assert status_of(row).status == "sent"
        assert [m["link_preview"] for m in sandbox.sent(CHAT)] == [False]


class TestConfiguration:
    def test_a_missing_hmac_key_in_production_is_a_startup_error(self, settings):
        settings.DEBUG, settings.WAHA_WEBHOOK_HMAC_KEY = False, ""
        assert [e.id for e in run_checks() if e.id.startswith("messaging.")] == ["messaging.E001"]
        settings.DEBUG = True
        assert not [e for e in run_checks() if e.id.startswith("messaging.")]

    def test_status_shows_the_last_webhook_per_session_and_refusals_by_why(self, sandbox, webhooks_to_app, api,
                                                                         settings):
        sandbox.control("waha/inbound", phone="7019876543", body="Спасибо!")
        settings.WAHA_WEBHOOK_HMAC_KEY = ""  # the production mistake: every webhook is refused
        assert sandbox.control("waha/inbound", phone="7019876543", body="Стоп")["status"] == 401
        post(webhooks_to_app.url, message_event(), key="a-forged-key")

        report = api.get("/ai-seller/status").json()["webhooks"]

        assert report["ok"] and report["hmac_key_set"] is False
        [default] = report["sessions"]
        assert (default["session"], default["count"]) == ("default", 1) and default["last_received_at"]
        assert {why: r["count"] for why, r in report["refused"].items()} == {"no_hmac_key": 2}
        assert report["refused_total"] == 2
        assert (report["replies_pending"], report["lid_opt_outs_unmapped"]) == (1, 0)  # no worker in this test
