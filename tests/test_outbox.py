import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from kaspi_sync.models import Order, Shop
from messaging import outbox
from messaging.models import MessageEvent, OutboundMessage, Trigger


@pytest.fixture
def order(db):
    shop = Shop.objects.create(name="Shop", kaspi_token="token-123456789")
    return Order.objects.create(shop=shop, kaspi_id="abc", code="100", created_at_kaspi=timezone.now(), customer_phone="+77011234567")


def test_it_creates_one_row_per_order_and_trigger_however_often_asked(order):
    assert len(outbox.create_messages([(order, Trigger.POST_PURCHASE)])) == 1
    assert outbox.create_messages([(order, Trigger.POST_PURCHASE), (order, Trigger.POST_PURCHASE)]) == []
    assert len(outbox.create_messages([(order, Trigger.ORDER_DELIVERED)])) == 1
    assert OutboundMessage.objects.filter(order=order).count() == 2


def test_the_phone_is_stored_normalised(order):
    Order.objects.filter(pk=order.pk).update(customer_phone="8 (701) 123-45-67")
    order.refresh_from_db()
    outbox.create_messages([(order, Trigger.POST_PURCHASE)])
    assert OutboundMessage.objects.get(order=order).phone == "+77011234567"


def test_a_move_outside_the_status_graph_is_refused(order):
    outbox.create_messages([(order, Trigger.POST_PURCHASE)])
    message = OutboundMessage.objects.get(order=order)
    with pytest.raises(ValueError, match="never moves"):
        outbox.move(message.pk, OutboundMessage.Status.PENDING, OutboundMessage.Status.SENT)
    message.refresh_from_db()
    assert message.status == "pending"


def test_the_database_refuses_a_second_row_for_the_same_trigger(order):
    OutboundMessage.objects.create(shop=order.shop, order=order, trigger=Trigger.POST_PURCHASE)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessage.objects.create(shop=order.shop, order=order, trigger=Trigger.POST_PURCHASE)


def test_a_move_happens_once_and_leaves_an_event(order):
    outbox.create_messages([(order, Trigger.POST_PURCHASE)])
    message = OutboundMessage.objects.get(order=order)
    Status = OutboundMessage.Status
    assert outbox.move(message.pk, Status.PENDING, Status.BLOCKED, note="opt_out", reason="opt_out")
    assert not outbox.move(message.pk, Status.PENDING, Status.BLOCKED, note="again")
    message.refresh_from_db()
    assert (message.status, message.reason) == ("blocked", "opt_out")
    assert list(MessageEvent.objects.filter(message=message).values_list("status", flat=True)) == ["pending", "blocked"]


def test_a_disabled_trigger_creates_nothing(order):
    Shop.objects.filter(pk=order.shop_id).update(order_delivered_enabled=False)
    order.shop.refresh_from_db()
    assert outbox.create_messages([(order, Trigger.ORDER_DELIVERED)]) == []
    assert not OutboundMessage.objects.exists()
