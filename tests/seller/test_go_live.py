"""The go-live checklist: a new shop starts dry; each step checks something real against the
sandbox (one Kaspi read, the WAHA session, a webhook seen, the model, a message to the
operator's own number); the shop goes live only when every step is done."""

import pytest
from django.urls import reverse
from django.utils import timezone

from kaspi_sync.models import Order, Shop
from messaging.models import InboundMessage
from tests.seller.test_fallback import shop_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def dry_shop(shop):
    Shop.objects.filter(pk=shop.pk).update(mode=Shop.Mode.DRY)
    shop.refresh_from_db()
    Order.objects.create(shop=shop, kaspi_id="k1", code="496149022", created_at_kaspi=timezone.now(),
                         customer_phone="+77011234567", customer_first_name="Айгерим")
    return shop


def check(admin_client, shop, step, **extra):
    url = reverse("admin:seller_shop_checklist", args=[shop.pk])
    return admin_client.post(url, {"step": step, **extra}, follow=True).content.decode()


def test_a_shop_added_in_admin_starts_in_dry_mode(admin_client):
    page = admin_client.get(reverse("admin:kaspi_sync_shop_add")).content.decode()
    assert '<option value="dry" selected>' in page


def test_each_step_checks_for_real_and_says_what_it_found(admin_client, sandbox, dry_shop):
    assert "Kaspi answered: 0 new order(s) in the last 14 days." in check(admin_client, dry_shop, "kaspi")
    assert "WAHA session &#x27;default&#x27;: WORKING" in check(admin_client, dry_shop, "waha")
    assert "No webhook from WAHA yet" in check(admin_client, dry_shop, "webhook")
    page = check(admin_client, dry_shop, "model")
    assert "The model wrote for order #496149022" in page
    assert "quiet hours: none" in check(admin_client, dry_shop, "policy")

    page = check(admin_client, dry_shop, "test_message", phone="8 701 999 88 77")

    assert "Sent to +77019998877" in page
    assert [m["text"] for m in sandbox.sent("77019998877@c.us")] == [
        "Проверка связи от «Tech Store Almaty»: так ваши покупатели получат сообщения. / «Tech Store Almaty» байланыс тексеруі."]


def test_a_rejected_token_or_a_session_without_whatsapp_is_shown_as_not_done(admin_client, sandbox, dry_shop):
    Shop.objects.filter(pk=dry_shop.pk).update(kaspi_token="a-token-kaspi-does-not-know")
    sandbox.control("waha/sessions", name="default", status="SCAN_QR_CODE")
    assert "token rejected (HTTP 401)" in check(admin_client, dry_shop, "kaspi")
    assert "SCAN_QR_CODE (scan the QR code" in check(admin_client, dry_shop, "waha")
    assert "not a Kazakhstan mobile number" in check(admin_client, dry_shop, "test_message", phone="12345")
    assert sandbox.sent() == []


def test_the_shop_goes_live_only_when_every_step_is_done(admin_client, sandbox, dry_shop):
    url = reverse("admin:seller_shop_checklist", args=[dry_shop.pk])
    refused = admin_client.post(f"/admin/kaspi_sync/shop/{dry_shop.pk}/change/", shop_form(dry_shop, mode="live"))
    assert "still missing" in refused.content.decode()
    for step in ("kaspi", "waha", "model", "policy"):
        check(admin_client, dry_shop, step)
    check(admin_client, dry_shop, "test_message", phone="+77019998877")
    page = admin_client.post(url, {"go_live": "1"}, follow=True).content.decode()
    assert "Not live yet; still missing: WAHA&#x27;s webhook reaches us" in page
    assert Shop.objects.get(pk=dry_shop.pk).mode == Shop.Mode.DRY

    # The operator answers the test message from their phone: WAHA's webhook brought it in.
    InboundMessage.objects.create(waha_id="false_77019998877@c.us_X", phone="+77019998877", body="ok", session="default")
    check(admin_client, dry_shop, "webhook")
    page = admin_client.post(url, {"go_live": "1"}, follow=True).content.decode()

    assert "Tech Store Almaty is live" in page
    assert Shop.objects.get(pk=dry_shop.pk).mode == Shop.Mode.LIVE
