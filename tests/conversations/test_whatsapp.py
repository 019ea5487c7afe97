"""The whole way with a real worker: a customer writes on WhatsApp (the sandbox's WAHA posts the
signed webhook to the live app), and the answer, the handoff and the operator's reply go out
through WAHA."""

import pytest

from kaspi_sync.tasks import sync_all_shops
from messaging.models import OutboundMessage
from seller.conversations import answerer
from seller.models import Answer, HandledReply, Handoff
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
CHAT = "77015550011@c.us"


def first_message_sent(sandbox, shop):
    order = sandbox.control("kaspi/orders", token=shop.kaspi_token, status="APPROVED_BY_BANK", phone="7015550011",
                            first_name="Данияр", delivery_mode="DELIVERY_PICKUP")
    sync_all_shops.delay()
    wait_until(lambda: len(sandbox.sent(CHAT)) == 1, what="the order message")
    return order


def test_a_question_on_whatsapp_gets_one_true_answer(sandbox, shop, webhooks_to_app, celery_worker):
    first_message_sent(sandbox, shop)

    sandbox.control("waha/inbound", phone="77015550011", body="Добрый день! А когда можно будет забрать заказ?")

    wait_until(lambda: HandledReply.objects.exists() and not Answer.objects.exclude(status="sent").exists()
               and len(sandbox.sent(CHAT)) == 2, what="the answer")
    answer = sandbox.sent(CHAT)[1]["text"]
    assert answer.startswith("Здравствуйте, Данияр!")
    assert "Заказ можно будет забрать в пункте" in answer
    assert Answer.objects.get().waha_message_id


def test_a_complaint_stops_marketing_and_the_operator_answers_from_admin(sandbox, shop, webhooks_to_app,
                                                                        celery_worker, admin_client):
    shop.cooldown_hours = 0  # the next marketing message would go at once, but for the handoff
    shop.save()
    order = first_message_sent(sandbox, shop)

    sandbox.control("waha/inbound", phone="77015550011", body="Заказ пришёл с разбитым экраном, это ужас")
    handoff = wait_until(lambda: Handoff.objects.filter(status="open").first(), what="the handoff")
    wait_until(lambda: len(sandbox.sent(CHAT)) == 2, what="the acknowledgement")
    assert sandbox.sent(CHAT)[1]["text"] == answerer.ACK["ru"].format(shop=shop.name)
    assert handoff.reason == "complaint" and handoff.order.code == order["code"]

    sandbox.control(f"kaspi/orders/{order['code']}/status", status="COMPLETED")
    sync_all_shops.delay()
    review = wait_until(lambda: OutboundMessage.objects.filter(trigger="ORDER_DELIVERED", status="deferred").first(),
                        what="the review request to wait")
    assert review.events.last().note == "handoff"
    page = admin_client.get(f"/admin/seller/handoff/{handoff.pk}/change/")
    assert "Заказ пришёл с разбитым экраном" in page.content.decode()

    admin_client.post(f"/admin/seller/handoff/{handoff.pk}/change/",
                      {"reply": "Данияр, простите! Заменим экран, курьер заедет за товаром.", "close_now": "on"})

    wait_until(lambda: len(sandbox.sent(CHAT)) == 3, what="the operator's reply")
    assert sandbox.sent(CHAT)[2]["text"] == "Данияр, простите! Заменим экран, курьер заедет за товаром."
    handoff.refresh_from_db()
    assert handoff.status == "closed" and handoff.closed_by == "admin"
    assert OutboundMessage.objects.get(pk=review.pk).status == "deferred"  # never sent while the person handled it


def test_sandbox_customers_talk_back_and_get_answered(sandbox, shop, webhooks_to_app, celery_worker):
    sandbox.control("waha/talk-back", share=1, delay_seconds=0)  # as in the demo, but everyone, at once

    first_message_sent(sandbox, shop)

    wait_until(lambda: len(sandbox.sent(CHAT)) == 2, what="the customer's question and our answer")
    assert [e["event"] for e in sandbox.get("waha/webhooks")].count("message") == 1
    reply = HandledReply.objects.get()
    assert (reply.inbound.body, reply.label, reply.outcome) == ("А когда привезут заказ?", "order_question", "answered")
    assert "Заказ можно будет забрать в пункте" in sandbox.sent(CHAT)[1]["text"]
