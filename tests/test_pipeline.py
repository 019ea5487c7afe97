"""The whole way, run by a real Celery worker: a sandbox order becomes a WhatsApp message."""

import pytest

from kaspi_sync.tasks import sync_all_shops
from messaging.models import OptOut, OutboundMessage

from .helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def finished(message_filter):
    def check():
        row = OutboundMessage.objects.filter(**message_filter).first()
        return row if row and row.status in ("sent", "delivered", "read", "blocked", "failed", "cancelled") else None
    return check


def test_a_new_order_becomes_a_personal_whatsapp_message(sandbox, shop, celery_worker):
    order = sandbox.control("kaspi/orders", token=shop.kaspi_token, status="APPROVED_BY_BANK", phone="7011234567", first_name="Айгерим")

    sync_all_shops.delay()

    row = wait_until(finished({"order__code": order["code"]}), what="the message to be sent")
    assert (row.status, row.source, row.trigger) == ("sent", "ai", "POST_PURCHASE")
    sent = sandbox.sent("77011234567@c.us")
    assert len(sent) == 1
    assert sent[0]["text"] == row.text and "Айгерим" in row.text
    assert row.waha_message_id


def test_a_delivered_order_gets_a_review_request(sandbox, shop, celery_worker):
    shop.cooldown_hours = 0  # the tests deliver at once; in life the 48 h delay outlasts the cooldown
    shop.save()
    order = sandbox.control("kaspi/orders", token=shop.kaspi_token, status="APPROVED_BY_BANK", phone="7051234567")
    sync_all_shops.delay()
    wait_until(finished({"order__code": order["code"], "trigger": "POST_PURCHASE"}), what="the first message")
    sandbox.control(f"kaspi/orders/{order['code']}/status", status="COMPLETED")

    sync_all_shops.delay()

    row = wait_until(finished({"order__code": order["code"], "trigger": "ORDER_DELIVERED"}), what="the review request")
    assert row.status == "sent"
    assert "https://kaspi.kz/shop/review/productreview?orderCode=" + order["code"] in row.text
    assert [m["text"] for m in sandbox.sent("77051234567@c.us")][-1] == row.text


def test_the_fallback_template_is_sent_when_openai_fails(sandbox, shop, celery_worker):
    sandbox.control("openai/mode", mode="error500")
    order = sandbox.control("kaspi/orders", token=shop.kaspi_token, status="APPROVED_BY_BANK", phone="7021234567", first_name="Ерлан")

    sync_all_shops.delay()

    row = wait_until(finished({"order__code": order["code"]}), what="the message to be sent")
    assert (row.status, row.source) == ("sent", "fallback")
    assert row.fallback_reason.startswith("error:")
    assert row.text.startswith("Здравствуйте, Ерлан! Спасибо за заказ в магазине Tech Store Almaty")
    assert sandbox.sent("77021234567@c.us")[0]["text"] == row.text


def test_an_opted_out_customer_gets_nothing(sandbox, shop, celery_worker):
    OptOut.objects.create(phone="+77081234567")
    order = sandbox.control("kaspi/orders", token=shop.kaspi_token, status="APPROVED_BY_BANK", phone="7081234567")

    sync_all_shops.delay()

    row = wait_until(finished({"order__code": order["code"]}), what="the message to be decided")
    assert (row.status, row.reason) == ("blocked", "opt_out")
    assert row.text == ""
    assert sandbox.sent("77081234567@c.us") == []
