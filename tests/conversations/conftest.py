"""A chat with one customer: our order message was sent, the shop has a knowledge base, and the
customer writes back. Replies are stored as the webhook and messaging leave them (processed,
phone known); the seller's steps are called as functions, against the sandbox's WAHA and model."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from kaspi_sync.models import Order, OrderEntry, Shop
from messaging.models import InboundMessage, OutboundMessage, Trigger
from seller.conversations import delivery, replies
from seller.models import Answer, KnowledgeEntry

PHONE, CHAT = "+77017654321", "77017654321@c.us"
_ids = itertools.count(1)

KNOWLEDGE = {
    "returns": "Вернуть товар можно в течение 14 дней через приложение Kaspi.",
    "exchange": "Обменять размер можно в пункте выдачи Kaspi, если товар не был в использовании.",
    "hours": "Мы отвечаем в чате с 9:00 до 21:00 ежедневно.",
}


class Chat:
    def __init__(self, shop, order, message, sandbox):
        self.shop, self.order, self.message, self.sandbox = shop, order, message, sandbox

    def customer_writes(self, body: str, phone: str = PHONE, at=None) -> int:
        """A reply as messaging leaves it: stored, mapped to a phone, linked to our message."""
        n = next(_ids)
        return InboundMessage.objects.create(
            waha_id=f"false_{phone[1:]}@c.us_3EB0{n:08d}", sender=f"{phone[1:]}@c.us", phone=phone, body=body,
            session="default", in_reply_to=self.message, processed_at=at or timezone.now(),
            received_at=at or timezone.now()).pk

    def handle(self, body: str, **options):
        """The customer writes; the seller handles it and sends whatever it wrote."""
        plan = replies.handle(self.customer_writes(body, **options))
        self.send_all()
        return plan

    def send_all(self):
        for answer_id in Answer.objects.filter(status=Answer.Status.READY).values_list("pk", flat=True):
            delivery.send_answer(answer_id)

    def received(self) -> list[str]:
        """What the customer's WhatsApp shows from us, after our order message."""
        return [m["text"] for m in self.sandbox.sent(CHAT)]


@pytest.fixture
def chat(transactional_db, sandbox):
    sandbox.control("kaspi/shops", token="kaspi-chat-token-01", orders=0)
    shop = Shop.objects.create(name="Tech Store Almaty", kaspi_token="kaspi-chat-token-01")
    for topic, text in KNOWLEDGE.items():
        KnowledgeEntry.objects.create(shop=shop, topic=topic, text=text)
    order = Order.objects.create(
        shop=shop, kaspi_id="id-700000001", code="700000001", state=Order.State.ACCEPTED,
        created_at_kaspi=timezone.now() - timedelta(days=1), customer_phone=PHONE, customer_first_name="Айгерим",
        delivery_mode="DELIVERY_PICKUP", planned_delivery_date=timezone.now() + timedelta(days=2))
    OrderEntry.objects.create(order=order, name="Наушники Sony WH-1000XM5", quantity=1)
    message = OutboundMessage.objects.create(
        shop=shop, order=order, trigger=Trigger.POST_PURCHASE, phone=PHONE, status=OutboundMessage.Status.SENT,
        text="Здравствуйте, Айгерим! Спасибо за заказ.", sent_at=timezone.now() - timedelta(hours=1))
    return Chat(shop, order, message, sandbox)
