"""The WAHA stand-in's edge cases, as real WAHA answers them (shared/apis/waha.md): the lids
endpoint's answers, permanent 422s, ack -1 and a 463 by ack, any event type, session creation,
start, stop and log out, the QR code and its states, slow link previews."""

import base64
import json
import time

import pytest
import requests

from sandbox.webhooks import lid_for

from .conftest import WAHA_KEY
from .test_waha import CHAT, send

LID = lid_for("77011234567")


def lid_lookup(box, lid=LID, session="default"):
    return box.waha("GET", f"/api/{session}/lids/{lid}")


class TestLids:
    def test_a_known_lid_maps_to_its_phone(self, box):
        box.control("waha/lids", phone="7011234567")
        assert lid_lookup(box).json() == {"lid": LID, "pn": "77011234567@c.us"}

    @pytest.mark.parametrize("mode, status, text", [
        ("pn_null", 200, '"pn": null'),
        ("400", 400, "Enable NOWEB store"),
        ("404", 404, "Cannot GET"),
        ("500", 500, "exception"),
        ("422", 422, "Invalid LID"),
    ])
    def test_each_answer_real_waha_gives(self, box, mode, status, text):
        box.control("waha/lids", mode=mode, phone="7011234567")
        response = lid_lookup(box)
        assert response.status_code == status and text in response.text

    def test_an_invalid_lid_and_a_session_not_working_are_422s(self, box):
        assert lid_lookup(box, lid="not-a-lid").json()["message"] == "Invalid LID"
        box.control("waha/sessions", name="default", status="STARTING")
        assert lid_lookup(box).json()["expected"] == ["WORKING"]


class TestPermanent422:
    def test_faults_give_the_bodies_of_a_missing_session_and_of_waha_core(self, box):
        box.control("waha/faults", responses=["422-no-session", "422-core"])
        missing, core = send(box), send(box)
        assert (missing.status_code, missing.json()) == (422, {"error": 'Session "default" does not exist'})
        assert core.status_code == 422 and "support only 'default' session" in core.json()["message"]

    def test_waha_core_serves_only_the_default_session(self, box):
        box.control("waha/tier", tier="CORE")
        box.control("waha/sessions", name="shop-2", status="WORKING")
        assert "support only 'default'" in send(box, session="shop-2").json()["message"]
        assert send(box).status_code == 201


class TestAckErrors:
    @pytest.mark.parametrize("fault, data", [("ack-error", {}), ("ack-463", {"messageStubParameters": ["463"]})])
    def test_the_send_answers_201_then_an_ack_minus_one_follows(self, box, receiver, fault, data):
        box.control("waha/webhook", url=receiver.url, ack_delay=0.05)
        box.control("waha/faults", responses=[fault])
        assert send(box).status_code == 201
        [ack] = [json.loads(r["body"]) for r in receiver.wait_for(1)]
        assert ack["event"] == "message.ack" and ack["payload"]["ack"] == -1
        assert ack["payload"]["ackName"] == "ERROR" and ack["payload"]["_data"] == data
        assert box.look("waha/sent") == []  # never reached the customer


def test_any_event_type_can_be_posted(box, receiver):
    box.control("waha/webhook", url=receiver.url)
    answer = box.control("waha/event", event="group.v2.join", payload={"id": "x"})
    assert answer["status"] == 200 and json.loads(receiver.wait_for(1)[0]["body"])["event"] == "group.v2.join"


class TestSessionLifecycle:
    def create(self, box, name="shop-2", url="http://127.0.0.1:9/webhooks/waha"):
        return box.waha("POST", "/api/sessions", json={
            "name": name, "start": True,
            "config": {"webhooks": [{"url": url, "events": ["message"], "hmac": {"key": "k"}}]}})

    def test_a_created_session_starts_then_waits_for_a_scan_with_a_qr_code(self, box):
        created = self.create(box)
        assert created.status_code == 201 and created.json()["status"] == "STARTING"
        assert created.json()["config"]["webhooks"][0]["hmac"] == {"key": "k"}
        time.sleep(0.6)
        assert box.waha("GET", "/api/sessions/shop-2").json()["status"] == "SCAN_QR_CODE"

        image = box.waha("GET", "/api/shop-2/auth/qr", params={"format": "image"})
        as_json = requests.get(f"{box.server.waha_url}/api/shop-2/auth/qr", params={"format": "image"}, timeout=10,
                               headers={"X-Api-Key": WAHA_KEY, "Accept": "application/json"})
        raw = box.waha("GET", "/api/shop-2/auth/qr", params={"format": "raw"}).json()
        assert image.headers["Content-Type"] == "image/png" and image.content.startswith(b"\x89PNG")
        assert as_json.json()["mimetype"] == "image/png" and base64.b64decode(as_json.json()["data"])[:4] == b"\x89PNG"
        assert raw["value"].startswith("2@")

        box.control("waha/sessions/shop-2/scan", phone="77001234567")
        session = box.waha("GET", "/api/sessions/shop-2").json()
        assert (session["status"], session["me"]["id"]) == ("WORKING", "77001234567@c.us")
        assert box.waha("GET", "/api/shop-2/auth/qr").status_code == 422  # no QR once linked

    def test_stop_start_and_logout(self, box):
        self.create(box)
        box.control("waha/sessions/shop-2/scan")
        assert box.waha("POST", "/api/sessions/shop-2/stop").json()["status"] == "STOPPED"
        assert box.waha("POST", "/api/sessions/shop-2/start").json()["status"] == "WORKING"  # still linked
        logged_out = box.waha("POST", "/api/sessions/shop-2/logout").json()
        assert (logged_out["status"], logged_out["me"]) == ("STARTING", None)

    def test_a_second_create_and_an_unknown_session_are_refused(self, box):
        self.create(box)
        assert self.create(box).status_code == 422
        assert box.waha("POST", "/api/sessions/nope/start").status_code == 404
        box.control("waha/tier", tier="CORE")
        assert self.create(box, name="shop-3").status_code == 422

    def test_events_of_a_created_session_go_to_its_own_webhook(self, box, receiver):
        self.create(box, url=receiver.url)
        box.control("waha/sessions/shop-2/scan")
        box.control("waha/inbound", phone="7011234567", body="Салем", session="shop-2")
        events = [json.loads(r["body"]) for r in receiver.wait_for(2)]
        assert "message" in [e["event"] for e in events]
        assert all(r["headers"]["X-Webhook-Hmac"] for r in receiver.received)


class TestLinkPreview:
    def test_a_link_gets_a_preview_unless_the_send_turns_it_off(self, box):
        box.control("waha/faults", preview_delay_seconds=0.3)
        text = "Отзыв: https://kaspi.kz/shop/review/productreview?orderCode=1"
        send(box, text=text)
        box.waha("POST", "/api/sendText", json={"session": "default", "chatId": CHAT, "text": text,
                                                "linkPreview": False})
        send(box, text="без ссылки")
        assert [m["link_preview"] for m in box.look("waha/sent")] == [True, False, False]
