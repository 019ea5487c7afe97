"""A Kazakh shop's customer, the whole way through a real Celery worker: both messages in Kazakh,
the first with what happens next, the second with the review link."""

import pytest

from kaspi_sync.models import Order
from kaspi_sync.sync import sync_shop
from messaging.models import OutboundMessage

from ..helpers import wait_until
from .helpers import is_kazakh

pytestmark = pytest.mark.django_db(transaction=True)


def sent_row(order, trigger):
    return lambda: OutboundMessage.objects.filter(order=order, trigger=trigger, status="sent").first()


def test_a_kazakh_shops_customer_hears_kazakh_from_thanks_to_review(sandbox, shop, celery_worker):
    shop.language = "kk"
    shop.cooldown_hours = 0  # two messages in a minute: this test is about their words, not the policy
    shop.save()
    created = sandbox.control("kaspi/orders", token=shop.kaspi_token, status="APPROVED_BY_BANK", phone="7471234567",
                              first_name="Томирис", delivery_mode="DELIVERY_PICKUP")
    sync_shop(shop, days=3)
    order = Order.objects.get(code=created["code"])
    thanks = wait_until(sent_row(order, "POST_PURCHASE"), what="the thanks")

    sandbox.control(f"kaspi/orders/{order.code}/status", status="COMPLETED")
    sync_shop(shop, days=3)
    review = wait_until(sent_row(order, "ORDER_DELIVERED"), what="the review request")

    assert [m["text"] for m in sandbox.sent("77471234567@c.us")] == [thanks.text, review.text]
    assert thanks.source == review.source == "ai"
    assert all(is_kazakh(row.text) and "Томирис" in row.text for row in (thanks, review))
    assert "Тапсырысты дүкеннің өзі алып кету пунктінен алуға болады, жоспарланған күні: " in thanks.text
    assert f"https://kaspi.kz/shop/review/productreview?orderCode={order.code}&productCode=" in review.text
    assert all(row.prompt_tokens and row.completion_tokens and row.generation_ms is not None for row in (thanks, review))
