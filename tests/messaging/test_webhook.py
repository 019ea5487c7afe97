"""POST /webhooks/waha, posted by the sandbox's WAHA (signed as WAHA signs) to a live app."""

import hashlib
import hmac
import json

import pytest
import requests
from django.conf import settings

from messaging import inbound, optouts
from messaging.models import InboundMessage, OptOut, OutboundMessage
from seller.sending import send_message
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PHONE, CHAT = "+77019876543", "77019876543@c.us"
KEYWORD_REPLIES = ["Стоп!", "отписаться", "Отписка", "не пишите", "Больше не пишите мне!!", "STOP", "тоқтату",
                   "Жазбаңыз", "Спасибо, но больше не пишите мне, пожалуйста", "  СТОП  ",
                   "unsubscribe please"]


def post(url, event, key=None, raw=None):
    body = raw if raw is not None else json.dumps(event, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if key:
        headers["X-Webhook-Hmac"] = hmac.new(key.encode(), body, hashlib.sha512).hexdigest()
        headers["X-Webhook-Hmac-Algorithm"] = "sha512"
    return requests.post(f"{url}/webhooks/waha", data=body, headers=headers, timeout=10)


def message_event(body="Стоп", sender=CHAT, envelope_id="evt_0001", payload_id="false_77019876543@c.us_3EB0AAA"):
    return {"id": envelope_id, "timestamp": 1795536000000, "event": "message", "session": "default", "metadata": {},
            "me": {"id": "77000000000@c.us"}, "engine": "GOWS",
            "payload": {"id": payload_id, "timestamp": 1795536000, "from": sender, "fromMe": False, "body": body,
                        "hasMedia": False, "ack": 2}}


def nothing_stored():
    return not InboundMessage.objects.exists() and not OptOut.objects.exists()


class TestSignature:
    def test_a_forged_or_unsigned_webhook_gets_401_and_changes_nothing(self, live_server):
        for key in ("a-forged-key", None):
            answer = post(live_server.url, message_event(), key=key)
            assert answer.status_code == 401
        assert nothing_stored()

    def test_a_body_changed_after_signing_gets_401(self, live_server):
        signed = json.dumps(message_event(body="Спасибо")).encode()
        signature = hmac.new(settings.WAHA_WEBHOOK_HMAC_KEY.encode(), signed, hashlib.sha512).hexdigest()
        tampered = signed.replace("Спасибо".encode("unicode_escape"), b"Stop")
        answer = requests.post(f"{live_server.url}/webhooks/waha", data=tampered, timeout=10,
                               headers={"X-Webhook-Hmac": signature, "Content-Type": "application/json"})
        assert answer.status_code == 401 and nothing_stored()


class TestMalformed:
    @pytest.mark.parametrize("raw, event", [
        (b"{not json", None),
        (None, ["a", "list"]),
        (None, {"event": "message"}),
        (None, {"id": "evt_2", "event": "message", "payload": {"from": CHAT, "body": "Стоп"}}),
        (None, {"id": "evt_3", "event": "message", "payload": {"id": "false_x_1", "from": CHAT, "body": {"a": 1}}}),
        (None, {"id": "evt_4", "event": "message.ack", "payload": {"id": "true_x_1", "ack": "READ"}}),
    ])
    def test_a_malformed_event_gets_400_and_changes_nothing(self, live_server, raw, event):
        answer = post(live_server.url, event, key=settings.WAHA_WEBHOOK_HMAC_KEY, raw=raw)
        assert answer.status_code == 400 and answer.json()["error"]
        assert nothing_stored()

    def test_a_refused_event_is_not_remembered_as_seen(self, live_server):
        bad = message_event()
        del bad["payload"]["from"]
        assert post(live_server.url, bad, key=settings.WAHA_WEBHOOK_HMAC_KEY).status_code == 400
        assert post(live_server.url, message_event(body="привет"), key=settings.WAHA_WEBHOOK_HMAC_KEY).json()["result"] == "ok"


class TestReplies:
    def test_the_webhook_records_the_opt_out_before_it_answers_and_leaves_the_rest_to_a_task(self, live_server):
        answer = post(live_server.url, message_event(body="Стоп!"), key=settings.WAHA_WEBHOOK_HMAC_KEY)

        assert (answer.status_code, answer.json()["result"]) == (200, "ok")
        stored = InboundMessage.objects.get()
        assert (stored.phone, stored.body, stored.processed_at, stored.is_opt_out) == (PHONE, "Стоп!", None, True)
        assert OptOut.objects.get().phone == PHONE  # in the webhook's own transaction, no worker running

    def test_a_replayed_webhook_changes_nothing_twice(self, sandbox, webhooks_to_app, celery_worker):
        first = sandbox.control("waha/inbound", phone="7019876543", body="Стоп!")
        assert first["status"] == 200
        wait_until(lambda: sandbox.sent(CHAT), what="the opt-out confirmation")

        again = post(webhooks_to_app.url, first["event"], key=settings.WAHA_WEBHOOK_HMAC_KEY)
        copy = dict(first["event"], id="evt_delivered_by_a_second_webhook")  # the same message, another envelope
        other = post(webhooks_to_app.url, copy, key=settings.WAHA_WEBHOOK_HMAC_KEY)

        assert (again.status_code, again.json()["result"]) == (200, "duplicate")
        assert (other.status_code, other.json()["result"]) == (200, "duplicate")
        assert InboundMessage.objects.count() == 1 and OptOut.objects.count() == 1
        assert [m["text"] for m in sandbox.sent(CHAT)] == [optouts.confirmation()]

    def test_each_keyword_in_a_reply_opts_the_customer_out_with_one_confirmation(self, sandbox, webhooks_to_app,
                                                                                 celery_worker):
        phones = {f"70198765{index:02d}": reply for index, reply in enumerate(KEYWORD_REPLIES)}
        for phone, reply in phones.items():
            assert sandbox.control("waha/inbound", phone=phone, body=reply)["status"] == 200

        wait_until(lambda: OptOut.objects.count() == len(phones) and len(sandbox.sent()) == len(phones),
                   what="every opt-out and its confirmation")
        assert set(OptOut.objects.values_list("phone", flat=True)) == {f"+7{phone}" for phone in phones}
        assert set(OptOut.objects.values_list("source", flat=True)) == {"reply"}
        assert sorted(m["chatId"] for m in sandbox.sent()) == sorted(f"7{phone}@c.us" for phone in phones)

    def test_a_sender_given_as_a_lid_is_mapped_to_the_phone(self, sandbox, webhooks_to_app, celery_worker):
        answer = sandbox.control("waha/inbound", phone="7019876543", body="stop", as_lid=True)
        assert answer["event"]["payload"]["from"].endswith("@lid")

        wait_until(lambda: OptOut.objects.filter(phone=PHONE).exists(), what="the opt-out of the mapped phone")
        stored = InboundMessage.objects.get()
        assert stored.sender.endswith("@lid") and stored.phone == PHONE and stored.is_opt_out
        assert [m["chatId"] for m in sandbox.sent()] == [CHAT]

    def test_start_resubscribes_a_customer_who_opted_out_by_reply(self, sandbox, webhooks_to_app, celery_worker):
        OptOut.objects.create(phone="+77011112233", source=OptOut.Source.ADMIN)
        sandbox.control("waha/inbound", phone="7019876543", body="стоп")
        wait_until(lambda: OptOut.objects.filter(phone=PHONE).exists(), what="the opt-out")

        sandbox.control("waha/inbound", phone="7019876543", body="Старт")
        sandbox.control("waha/inbound", phone="7011112233", body="start")

        wait_until(lambda: InboundMessage.objects.filter(processed_at__isnull=False).count() == 3, what="the replies")
        assert list(OptOut.objects.values_list("phone", flat=True)) == ["+77011112233"]  # an operator's stays

    def test_another_reply_is_kept_as_an_answer_to_our_last_message(self, sandbox, webhooks_to_app, celery_worker,
                                                                    make_message):
        message = make_message(phone=PHONE, status=OutboundMessage.Status.GENERATED, text="Спасибо за заказ!")
        send_message(message.pk)
        sandbox.control("waha/inbound", phone="7019876543", body="Спасибо, всё пришло!")

        reply = wait_until(lambda: InboundMessage.objects.filter(processed_at__isnull=False).first(), what="the reply")
        assert (reply.in_reply_to_id, reply.is_opt_out, reply.body) == (message.pk, False, "Спасибо, всё пришло!")
        assert OutboundMessage.objects.get(pk=message.pk).replied_at is not None
        texts = [m["text"] for m in sandbox.sent(CHAT)]  # the seller may thank them back; no opt-out confirmation
        assert not OptOut.objects.exists() and texts[0] == "Спасибо за заказ!" and not any("СТАРТ" in t for t in texts)

    def test_the_opt_out_confirmation_names_the_shop_and_says_how_to_undo_it(self, sandbox, webhooks_to_app,
                                                                            celery_worker, make_message):
        message = make_message(phone=PHONE, status=OutboundMessage.Status.GENERATED, text="Спасибо за заказ!")
        send_message(message.pk)
        sandbox.control("waha/inbound", phone="7019876543", body="Стоп")

        wait_until(lambda: len(sandbox.sent(CHAT)) == 2, what="the opt-out confirmation")
        confirmation = sandbox.sent(CHAT)[1]["text"]
        assert "Вы отписались от сообщений магазина «Tech Store Almaty»" in confirmation
        assert "«Tech Store Almaty» дүкенінің" in confirmation  # Kazakh too
        assert confirmation.count("СТАРТ") == 2 and optouts.is_resubscribe("СТАРТ")


def test_delivery_and_read_acks_move_the_row(sandbox, webhooks_to_app, make_message):
    sandbox.control("waha/webhook", ack_delay=0.2)
    message = make_message(phone=PHONE, status=OutboundMessage.Status.GENERATED, text="Спасибо за заказ!")

    send_message(message.pk)

    row = wait_until(lambda: OutboundMessage.objects.filter(pk=message.pk, status="read").first(), what="the read ack")
    assert row.delivered_at and row.read_at and row.delivered_at <= row.read_at
    assert list(row.events.values_list("status", flat=True)) == ["sending", "sent", "delivered", "read"]
    assert [h["status"] for h in sandbox.get("waha/webhooks")] == [200, 200]


@pytest.mark.parametrize("reply", KEYWORD_REPLIES)
def test_each_keyword_is_found_whatever_its_case_punctuation_and_spacing(reply):
    assert optouts.opt_out_keyword(reply)


@pytest.mark.parametrize("reply", ["Спасибо!", "Когда будет доставка?", "Стопка книг пришла целой", "start", "Пишите ещё"])
def test_an_ordinary_reply_is_no_opt_out(reply):
    assert optouts.opt_out_keyword(reply) is None
