"""`GET /ai-seller/handoffs`, and what an open handoff does to the marketing messages."""

import pytest
from django.utils import timezone

from seller import policy
from seller.conversations import handoffs
from seller.models import Handoff

from ..api.conftest import admin_token, api  # noqa: F401
from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_lists_handoffs_with_masked_phones_and_filters(chat, api):  # noqa: F811
    open_one, _ = handoffs.open_handoff(chat.shop, chat.order, "default", PHONE, Handoff.Reason.COMPLAINT)
    closed, _ = handoffs.open_handoff(chat.shop, None, "default", "+77010000011", Handoff.Reason.PERSON)
    handoffs.close([closed.pk], by="ops")

    everything = api.get("/ai-seller/handoffs").json()
    only_open = api.get(f"/ai-seller/handoffs?status=open&shop={chat.shop.pk}").json()

    assert [h["id"] for h in everything] == [closed.pk, open_one.pk]
    [row] = only_open
    assert row == {"id": open_one.pk, "shop_id": chat.shop.pk, "shop_name": "Tech Store Almaty",
                   "order_id": chat.order.pk, "order_code": "700000001", "customer_phone": "***21",
                   "reason": "complaint", "status": "open", "opened_at": row["opened_at"], "closed_at": None}
    assert everything[0]["closed_at"] and everything[0]["order_code"] is None
    assert "7017654321" not in str(everything)
    assert api.get("/ai-seller/handoffs?status=maybe").status_code == 400
    assert api.get("/ai-seller/handoffs?shop=999").status_code == 404


def test_an_open_handoff_holds_marketing_to_that_customer_until_it_is_closed(chat):
    message = chat.message
    message.status = "pending"
    now = timezone.now()
    assert policy.decide(message, now).action == "allow"
    handoff, _ = handoffs.open_handoff(chat.shop, chat.order, "default", PHONE, Handoff.Reason.COMPLAINT)

    held = policy.decide(message, now)
    assert (held.action, held.reason) == ("defer", "handoff")
    assert policy.decide(message, now, at_send=True).reason == "handoff"

    handoffs.close([handoff.pk])
    assert policy.decide(message, now).action == "allow"
