import time

import pytest
import requests

CHAT = "77011234567@c.us"


def send(box, chat_id=CHAT, text="Спасибо за заказ!", session="default", **kwargs):
    return box.waha("POST", "/api/sendText", json={"session": session, "chatId": chat_id, "text": text}, **kwargs)


class TestAuth:
    @pytest.mark.parametrize("key", [None, "", "wrong"])
    def test_it_refuses_a_missing_or_wrong_api_key(self, box, key):
        for response in (send(box, key=key), box.waha("GET", "/api/sessions/default", key=key)):
            assert response.status_code == 401
            assert response.json() == {"message": "Unauthorized", "statusCode": 401}
        assert box.look("waha/sent") == []


class TestSessions:
    def test_the_default_session_is_working_on_gows(self, box):
        session = box.waha("GET", "/api/sessions/default").json()
        assert session["name"] == "default" and session["status"] == "WORKING"
        assert session["engine"] == {"engine": "GOWS"}
        assert session["me"]["id"].endswith("@c.us") and session["me"]["pushName"]
        assert "config" in session

    def test_an_unknown_session_is_a_404(self, box):
        response = box.waha("GET", "/api/sessions/shop-2")
        assert response.status_code == 404
        assert response.json()["error"] == "Not Found" and "shop-2" in response.json()["message"]

    def test_the_control_api_creates_and_changes_sessions(self, box):
        box.control("waha/sessions", name="shop-2", status="SCAN_QR_CODE", engine="webjs")
        session = box.waha("GET", "/api/sessions/shop-2").json()
        assert (session["status"], session["engine"]["engine"], session["me"]) == ("SCAN_QR_CODE", "WEBJS", None)


class TestSendText:
    def test_gows_answers_201_with_a_string_id(self, box):
        response = send(box)
        assert response.status_code == 201
        body = response.json()
        assert body["id"].startswith(f"true_{CHAT}_3EB0") and "_data" in body

    def test_webjs_answers_with_an_id_object(self, box):
        box.control("waha/sessions", name="default", engine="WEBJS")
        body = send(box).json()
        assert body["id"]["fromMe"] is True and body["id"]["remote"] == CHAT
        assert body["id"]["_serialized"] == f"true_{CHAT}_{body['id']['id']}"

    def test_noweb_answers_with_a_key(self, box):
        box.control("waha/sessions", name="default", engine="NOWEB")
        body = send(box).json()
        assert body["key"]["remoteJid"] == "77011234567@s.whatsapp.net"
        assert body["key"]["fromMe"] is True and body["key"]["id"].startswith("3EB0")
        assert body["status"] == "PENDING"

    def test_it_records_each_sent_message_with_the_id_it_answered(self, box):
        body = send(box, text="Первое").json()
        send(box, chat_id="77770001122@c.us", text="Второе")
        sent = box.look("waha/sent")
        assert [m["text"] for m in sent] == ["Первое", "Второе"]
        assert sent[0]["id"] == body["id"] and sent[0]["session"] == "default"
        assert [m["text"] for m in box.look("waha/sent", chat_id=CHAT)] == ["Первое"]
        page = requests.get(f"{box.url}/_sandbox/waha/sent.html", timeout=5)
        assert page.headers["Content-Type"].startswith("text/html") and "Второе" in page.text

    @pytest.mark.parametrize("body", [
        {"chatId": CHAT, "text": "hi"},
        {"session": "default", "text": "hi"},
        {"session": "default", "chatId": CHAT, "text": ""},
        {"session": "default", "chatId": "77011234567@s.whatsapp.net", "text": "hi"},
        {"session": "default", "chatId": "+77011234567", "text": "hi"},
    ])
    def test_it_refuses_an_invalid_request_with_the_validation_body(self, box, body):
        response = box.waha("POST", "/api/sendText", json=body)
        assert response.status_code == 400
        assert response.json()["statusCode"] == 400 and response.json()["error"] == "Bad Request"
        assert isinstance(response.json()["message"], list)
        assert box.look("waha/sent") == []

    def test_it_accepts_lid_chat_ids(self, box):
        assert send(box, chat_id="123456789012345@lid").status_code == 201

    def test_an_unknown_session_is_a_404(self, box):
        response = send(box, session="nope")
        assert response.status_code == 404 and "nope" in response.json()["message"]

    def test_a_session_that_is_not_working_is_a_422(self, box):
        box.control("waha/sessions", name="default", status="STARTING")
        response = send(box)
        assert response.status_code == 422
        assert response.json() == {"error": response.json()["error"], "session": "default",
                                   "status": "STARTING", "expected": ["WORKING"]}


class TestHelpers:
    def test_it_says_whether_a_number_is_on_whatsapp(self, box):
        found = box.waha("GET", "/api/contacts/check-exists", params={"phone": "77011234567", "session": "default"})
        assert found.json() == {"numberExists": True, "chatId": "77011234567@c.us"}
        assert box.waha("GET", "/api/contacts/check-exists", params={"phone": "77010000000"}).json() == {
            "numberExists": False}
        box.control("waha/not-on-whatsapp", phone="7051112233")
        assert box.waha("GET", "/api/contacts/check-exists", params={"phone": "77051112233"}).json() == {
            "numberExists": False}

    @pytest.mark.parametrize("path, expected", [
        ("/api/sendSeen", {}), ("/api/startTyping", {"result": True}), ("/api/stopTyping", {"result": True})])
    def test_seen_and_typing_validate_and_answer_201(self, box, path, expected):
        response = box.waha("POST", path, json={"session": "default", "chatId": CHAT})
        assert (response.status_code, response.json()) == (201, expected)
        assert box.waha("POST", path, json={"session": "default"}).status_code == 400
        assert box.waha("POST", path, json={"session": "x", "chatId": CHAT}).status_code == 404

    def test_an_unknown_lid_maps_to_no_phone(self, box):
        body = box.waha("GET", "/api/default/lids/999999999999999@lid").json()
        assert body == {"lid": "999999999999999@lid", "pn": None}


class TestFaults:
    def test_queued_faults_answer_the_next_sends_in_order(self, box):
        box.control("waha/faults", responses=[500, 422, 400, "463"])
        answers = [send(box) for _ in range(5)]
        assert [a.status_code for a in answers] == [500, 422, 400, 500, 201]
        assert answers[0].json()["exception"]["message"]
        assert "463" not in answers[0].json()["exception"]["message"]
        assert answers[1].json()["expected"] == ["WORKING"]
        assert answers[2].json()["error"] == "Bad Request"
        assert "463" in answers[3].json()["exception"]["message"]
        assert len(box.look("waha/sent")) == 1

    def test_a_slow_send_has_already_left_when_the_client_gives_up(self, box):
        box.control("waha/faults", delay_seconds=2)
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            requests.post(f"{box.server.waha_url}/api/sendText", timeout=0.5,
                          headers={"X-Api-Key": "sandbox-waha-key"},
                          json={"session": "default", "chatId": CHAT, "text": "x"})
        assert time.monotonic() - started < 1.5
        assert [m["text"] for m in box.look("waha/sent")] == ["x"]

    def test_a_flaky_waha_fails_that_share_of_all_calls_with_5xx_before_doing_anything(self, box):
        box.control("waha/faults", flaky_rate=0.3)
        answers = [send(box, text=f"m{i}").status_code for i in range(100)]
        answers += [box.waha("GET", "/api/sessions/default").status_code for _ in range(100)]
        failed = [status for status in answers if status != 201 and status != 200]
        assert set(failed) <= {500, 502, 503} and 40 <= len(failed) <= 80
        assert len(box.look("waha/sent")) == answers[:100].count(201)  # a 5xx sent nothing
        assert sum(box.control("waha/faults", flaky_rate=0)["injected"].values()) == len(failed)
        assert send(box).status_code == 201

    def test_a_dropping_waha_sends_then_closes_that_share_of_connections(self, box):
        box.control("waha/faults", drop_rate=0.5)
        dropped = 0
        for i in range(20):
            try:
                assert send(box, text=f"m{i}").status_code == 201
            except requests.ConnectionError:
                dropped += 1
        assert 3 <= dropped <= 17
        assert len(box.look("waha/sent")) == 20  # every message left, answered or not
        assert box.control("waha/faults", drop_rate=0)["injected"] == {"drop": dropped}

    @pytest.mark.parametrize("rate", [-0.1, 1.5, "half"])
    def test_a_rate_outside_0_to_1_is_refused(self, box, rate):
        assert "flaky_rate" in box.control("waha/faults", expect=400, flaky_rate=rate)["error"]


def test_reset_clears_everything(box):
    box.control("kaspi/shops", expect=201, token="t", orders=3)
    box.control("waha/sessions", name="default", status="FAILED")
    send(box)
    box.control("waha/faults", responses=[500])
    box.control("openai/mode", mode="error500")
    box.control("reset")
    assert box.look("kaspi/shops") == [] and box.look("waha/sent") == []
    assert send(box).status_code == 201
    assert box.look("openai/requests") == []
    assert box.server.state.llm_mode == "ok"
