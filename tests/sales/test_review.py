"""Review mode: written messages wait for an operator's approval in admin before they go."""

from datetime import timedelta

from django.test import Client

from kaspi_sync.models import Shop
from messaging.models import OutboundMessage
from seller import sending, writer

from .conftest import order


def written_row(shop, now, phone):
    placed = order(shop, phone, now - timedelta(minutes=1), state="accepted")
    row = OutboundMessage.objects.create(shop=shop, order=placed, trigger="POST_PURCHASE", phone=phone,
                                         status="approved", reserved_at=now)
    assert writer.write_message(row.pk) is False  # not for the send step yet
    row.refresh_from_db()
    return row


def test_a_shop_in_review_sends_only_what_an_operator_approved(shop, now, sandbox, django_user_model, settings):
    settings.OPENAI_API_KEY = ""
    shop.mode = Shop.Mode.REVIEW
    shop.save()
    approved = written_row(shop, now, "+77011234567")
    rejected = written_row(shop, now, "+77021234567")
    assert (approved.status, approved.text != "") == ("review", True)
    sending.send_message(approved.pk)  # a send step that ran anyway does nothing
    assert sandbox.sent() == []

    client = Client()
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.kz", "pw"))
    changelist = "/admin/messaging/outboundmessage/"
    client.post(changelist, {"action": "approve_reviewed", "_selected_action": [approved.pk]})
    client.post(changelist, {"action": "reject_reviewed", "_selected_action": [rejected.pk]})
    sending.send_message(approved.pk)

    approved.refresh_from_db(), rejected.refresh_from_db()
    assert approved.status == "sent"
    assert (rejected.status, rejected.reason, rejected.reserved_at) == ("cancelled", "rejected", None)
    assert [m["text"] for m in sandbox.sent()] == [approved.text]
    assert approved.events.filter(note="approved by ops").exists()


def test_a_cancelled_order_cancels_a_message_waiting_for_review(shop, now, settings):
    from messaging import outbox

    settings.OPENAI_API_KEY = ""
    shop.mode = Shop.Mode.REVIEW
    shop.save()
    row = written_row(shop, now, "+77011234567")

    outbox.cancel_waiting(row.order, "cancelled")

    row.refresh_from_db()
    assert row.status == "cancelled"
