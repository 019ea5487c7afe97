import hashlib
import hmac
import json

import requests

from sandbox.server import start

KEY = "webhook-secret"


def signed_ok(request, key=KEY):
    expected = hmac.new(key.encode(), request["body"], hashlib.sha512).hexdigest()
    headers = request["headers"]
    return (headers["X-Webhook-Hmac-Algorithm"] == "sha512"
            and hmac.compare_digest(headers["X-Webhook-Hmac"], expected))


def test_an_inbound_message_is_posted_signed_like_waha(box, receiver):
    box.control("waha/webhook", url=receiver.url, hmac_key=KEY)
    answer = box.control("waha/inbound", phone="7019876543", body="Стоп")
    assert answer["status"] == 200
    [request] = receiver.wait_for(1)
    assert signed_ok(request)
    assert request["headers"]["X-Webhook-Request-Id"] and request["headers"]["X-Webhook-Timestamp"].isdigit()
    event = json.loads(request["body"])
    assert event == answer["event"]
    assert event["id"].startswith("evt_") and event["event"] == "message" and event["session"] == "default"
    payload = event["payload"]
    assert payload["from"] == "77019876543@c.us" and payload["fromMe"] is False
    assert payload["id"].startswith("false_77019876543@c.us_") and payload["body"] == "Стоп"
    assert payload["to"] == event["me"]["id"] and payload["replyTo"] is None
    assert len(str(event["timestamp"])) == 13 and len(str(payload["timestamp"])) == 10


def test_a_tampered_body_would_not_verify(box, receiver):
    box.control("waha/webhook", url=receiver.url, hmac_key=KEY)
    box.control("waha/inbound", phone="7019876543", body="привет")
    [request] = receiver.wait_for(1)
    assert not signed_ok(dict(request, body=request["body"] + b" "))
    assert not signed_ok(request, key="another-key")


def test_an_inbound_message_from_a_lid_maps_back_to_the_phone(box, receiver):
    box.control("waha/webhook", url=receiver.url, hmac_key=KEY)
    event = box.control("waha/inbound", phone="7019876543", body="stop", as_lid=True)["event"]
    sender = event["payload"]["from"]
    assert sender.endswith("@lid")
    mapped = box.waha("GET", f"/api/default/lids/{sender}").json()
    assert mapped == {"lid": sender, "pn": "77019876543@c.us"}
    assert box.waha("GET", "/api/default/lids/pn/77019876543").json()["lid"] == sender


def test_the_app_status_is_returned_and_logged(box, receiver):
    receiver.status = 401
    box.control("waha/webhook", url=receiver.url)
    assert box.control("waha/inbound", phone="7019876543", body="hi")["status"] == 401
    [request] = receiver.wait_for(1)
    assert "X-Webhook-Hmac" not in request["headers"]  # no key, no signature
    assert box.look("waha/webhooks")[-1]["status"] == 401


def test_inbound_without_a_webhook_url_is_refused(box):
    box.control("waha/inbound", expect=409, phone="7019876543", body="hi")


def test_a_send_is_followed_by_delivered_then_read_acks(box, receiver):
    box.control("waha/webhook", url=receiver.url, hmac_key=KEY)
    sent = box.waha("POST", "/api/sendText", json={
        "session": "default", "chatId": "77011234567@c.us", "text": "Спасибо!"}).json()
    requests_ = receiver.wait_for(2)
    events = [json.loads(r["body"]) for r in requests_]
    assert [e["event"] for e in events] == ["message.ack", "message.ack"]
    assert [(e["payload"]["ack"], e["payload"]["ackName"]) for e in events] == [(2, "DEVICE"), (3, "READ")]
    assert all(e["payload"]["id"] == sent["id"] and e["payload"]["fromMe"] for e in events)
    assert all(signed_ok(r) for r in requests_)


def test_acks_can_be_turned_off(box, receiver):
    box.control("waha/webhook", url=receiver.url, ack_delay=0)
    box.waha("POST", "/api/sendText", json={"session": "default", "chatId": "77011234567@c.us", "text": "x"})
    assert receiver.wait_for(1, timeout=0.5) == []


def test_a_session_status_change_is_posted(box, receiver):
    box.control("waha/webhook", url=receiver.url)
    box.control("waha/sessions", name="default", status="FAILED")
    [request] = receiver.wait_for(1)
    event = json.loads(request["body"])
    assert event["event"] == "session.status" and event["payload"]["status"] == "FAILED"


def test_start_takes_the_webhook_url_key_and_api_key(receiver):
    server = start(webhook_url=receiver.url, webhook_hmac_key=KEY, waha_api_key="k2", ack_delay=0)
    try:
        requests.post(f"{server.url}/_sandbox/waha/inbound", json={"phone": "7011112233", "body": "x"},
                      timeout=5).raise_for_status()
        assert signed_ok(receiver.wait_for(1)[0])
        headers = {"X-Api-Key": "k2"}
        assert requests.get(f"{server.waha_url}/api/sessions/default", headers=headers, timeout=5).ok
        # A reset keeps what the server was started with.
        requests.post(f"{server.url}/_sandbox/reset", timeout=5).raise_for_status()
        assert requests.get(f"{server.waha_url}/api/sessions/default", headers=headers, timeout=5).ok
        assert server.state.webhook_url == receiver.url
    finally:
        server.stop()
