"""Connect WhatsApp from the admin, against the sandbox's WAHA: from no session to WORKING in a
real headless Chromium (QR code shown and refreshed until the scan), the webhook set on the
session, a test message, stop and log out; WAHA Core's refusal explained. The screenshot is kept
as a test artifact (var/test-artifacts/whatsapp-connect.png, or TEST_ARTIFACTS_DIR)."""

import base64

import pytest
from django.conf import settings

from kaspi_sync.models import Shop
from messaging import connect
from messaging.models import OptOut
from tests.ops.test_dashboard_browser import ARTIFACTS, admin_page, chromium  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.django_db(transaction=True)
SESSION = "shop-almaty"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("ops", "ops@example.kz", "ops-password")


def waha_session(sandbox, name=SESSION):
    return sandbox.server.state.sessions.get(name)


def test_an_operator_connects_a_shop_from_no_session_to_working(sandbox, live_server, chromium, operator):
    shop = Shop.objects.create(name="Tech Store Almaty", kaspi_token="kaspi-connect-token", waha_session=SESSION)
    assert waha_session(sandbox) is None
    with admin_page(chromium, live_server, 1100, 760) as page:
        page.goto(f"{live_server.url}/admin/kaspi_sync/shop/{shop.pk}/change/")
        page.click(f"text=Connect WhatsApp (session {SESSION})")
        page.wait_for_function("document.getElementById('status').textContent === 'NO SESSION'")
        core_note = page.inner_text("#content p.help")

        page.click("#connect")
        page.wait_for_function("document.getElementById('status').textContent === 'SCAN_QR_CODE'")
        page.wait_for_function("document.getElementById('qr').naturalWidth > 100")
        first_qr = page.get_attribute("#qr", "src")
        page.screenshot(path=str(ARTIFACTS / "whatsapp-connect.png"), full_page=True)
        page.wait_for_function("src => document.getElementById('qr').src !== src", arg=first_qr)  # refreshed

        sandbox.control(f"waha/sessions/{SESSION}/scan", phone="77001234567", push_name="Tech Store")
        page.wait_for_function("document.getElementById('status').textContent === 'WORKING'")
        number = page.inner_text("#number")
        qr_hidden = page.is_hidden("#scan")

        page.fill("#phone", "8 701 555 44 33")
        page.click("text=Send a test message")
        notice = page.inner_text(".messagelist")
        page.click("button[value=stop]")
        page.wait_for_function("document.getElementById('status').textContent === 'STOPPED'")

    assert "WAHA Core serves only the `default` session" in core_note and "WAHA Plus" in core_note
    assert first_qr.startswith("data:image/png;base64,") and base64.b64decode(first_qr.split(",")[1]).startswith(PNG)
    assert number == "+77001234567 (Tech Store)" and qr_hidden
    assert "Test message sent to ***33" in notice
    assert [m["text"] for m in sandbox.sent("77015554433@c.us")] == [connect.TEST_MESSAGE]
    [webhook] = waha_session(sandbox)["webhooks"]
    assert webhook["url"] == f"{live_server.url}/webhooks/waha"
    assert webhook["hmac"] == {"key": settings.WAHA_WEBHOOK_HMAC_KEY}
    assert set(webhook["events"]) >= {"message", "message.ack", "session.status"}


def test_the_session_posts_its_events_to_the_app_signed_with_our_key(sandbox, live_server, client, operator,
                                                                      settings):
    settings.WAHA_WEBHOOK_URL = f"{live_server.url}/webhooks/waha"  # where WAHA reaches the app
    client.force_login(operator)
    client.post(f"/admin/whatsapp/{SESSION}/", {"action": "connect"})
    sandbox.control(f"waha/sessions/{SESSION}/scan", phone="77001234567")

    answer = sandbox.control("waha/inbound", phone="7019876543", body="Стоп", session=SESSION)

    assert answer["status"] == 200  # the session's own webhook, with our HMAC key
    assert OptOut.objects.filter(phone="+77019876543").exists()


def test_logout_unlinks_the_number_and_asks_for_a_new_scan(sandbox, client, operator):
    client.force_login(operator)
    client.post(f"/admin/whatsapp/{SESSION}/", {"action": "connect"})
    sandbox.control(f"waha/sessions/{SESSION}/scan", phone="77001234567")

    client.post(f"/admin/whatsapp/{SESSION}/", {"action": "logout"})
    sandbox.server.state.sessions[SESSION]["changed_at"] = 0  # the engine has restarted
    state = client.get(f"/admin/whatsapp/{SESSION}/state.json").json()

    assert (state["status"], state["phone"]) == ("SCAN_QR_CODE", "") and state["qr"].startswith("data:image/png")


def test_waha_core_refuses_a_second_session_and_the_page_says_why(sandbox, client, operator):
    sandbox.control("waha/tier", tier="CORE")
    client.force_login(operator)

    page = client.post(f"/admin/whatsapp/{SESSION}/", {"action": "connect"}, follow=True)

    text = page.content.decode()
    assert "WAHA Core serves only the `default` session" in text and "WAHA refused" in text
    assert waha_session(sandbox) is None


def test_a_test_message_to_a_bad_number_is_refused_and_nothing_is_sent(sandbox, client, operator):
    client.force_login(operator)
    page = client.post("/admin/whatsapp/default/", {"action": "test", "phone": "12345"}, follow=True)
    assert "Not a Kazakhstan mobile number" in page.content.decode() and sandbox.sent() == []


def test_the_page_is_only_for_staff(client, django_user_model):
    assert client.get(f"/admin/whatsapp/{SESSION}/").status_code == 302
    client.force_login(django_user_model.objects.create_user("merchant", password="pw"))
    assert client.get(f"/admin/whatsapp/{SESSION}/state.json")["Location"].startswith("/admin/login/")


def test_connecting_an_existing_session_keeps_its_other_settings_and_starts_it(sandbox, client, operator):
    sandbox.control("waha/sessions", name=SESSION, status="WORKING")  # linked once
    sandbox.control("waha/sessions", name=SESSION, status="STOPPED")
    state = sandbox.server.state
    state.sessions[SESSION]["webhooks"] = [{"url": "http://127.0.0.1:9/n8n", "events": ["message"]}]
    client.force_login(operator)

    client.post(f"/admin/whatsapp/{SESSION}/", {"action": "connect"})

    session = waha_session(sandbox)
    assert session["status"] == "WORKING"  # linked before: starts without a new scan
    assert [hook["url"] for hook in session["webhooks"]] == ["http://testserver/webhooks/waha", "http://127.0.0.1:9/n8n"]
