"""A shop's mode: `off` writes and sends nothing; `dry` writes and shows everything and sends
nothing, ever; new shops start in `dry` until their go-live checklist is done."""

import pytest
from django.core.management import call_command

from kaspi_sync.models import Order, Shop
from messaging import outbox
from messaging.models import OutboundMessage
from seller import eligibility, sending, writer

Status = OutboundMessage.Status
pytestmark = pytest.mark.django_db


def test_a_dry_shop_writes_the_message_and_never_sends_it(sandbox, make_message, policy_shop,
                                                          django_capture_on_commit_callbacks):
    Shop.objects.filter(pk=policy_shop.pk).update(mode=Shop.Mode.DRY)
    message = make_message()

    assert eligibility.check_message(message.pk)
    assert writer.write_message(message.pk)
    with django_capture_on_commit_callbacks(execute=True):
        sending.send_message(message.pk)

    message.refresh_from_db()
    assert (message.status, message.reason, message.reserved_at) == (Status.DRY_RUN, "dry_mode", None)
    assert message.text and message.source  # written and shown
    assert sandbox.sent() == []  # nothing reached WAHA
    assert list(message.events.values_list("note", flat=True))[-1] == "dry mode: written, not sent"
    # Its place under the cap and cooldown was given back: the next message to this customer may go.
    assert eligibility.check_message(make_message().pk)


def test_a_dry_row_never_goes_out_later_when_the_shop_goes_live(sandbox, make_message, policy_shop):
    Shop.objects.filter(pk=policy_shop.pk).update(mode=Shop.Mode.DRY)
    message = make_message(status=Status.GENERATED, text="Спасибо!")
    sending.send_message(message.pk)
    Shop.objects.filter(pk=policy_shop.pk).update(mode=Shop.Mode.LIVE)

    sending.send_message(message.pk)

    assert OutboundMessage.objects.get(pk=message.pk).status == Status.DRY_RUN
    assert sandbox.sent() == []
    with pytest.raises(ValueError):
        outbox.move(message.pk, Status.DRY_RUN, Status.SENDING)


def test_an_off_shop_gets_no_outbox_rows(policy_shop):
    Shop.objects.filter(pk=policy_shop.pk).update(mode=Shop.Mode.OFF)
    policy_shop.refresh_from_db()
    order = Order.objects.create(shop=policy_shop, kaspi_id="k1", code="1", created_at_kaspi="2026-11-27T10:00Z",
                                 customer_phone="+77011234567")
    assert outbox.create_messages([(order, "POST_PURCHASE")]) == []
    assert not OutboundMessage.objects.exists()


def test_a_shop_switched_off_blocks_its_waiting_rows(sandbox, make_message, policy_shop):
    waiting = make_message()
    written_row = make_message(phone="+77021234567", status=Status.GENERATED, text="Спасибо!")
    Shop.objects.filter(pk=policy_shop.pk).update(mode=Shop.Mode.OFF)

    assert not eligibility.check_message(waiting.pk)
    sending.send_message(written_row.pk)

    assert set(OutboundMessage.objects.values_list("status", "reason")) == {(Status.BLOCKED, "shop_off")}
    assert sandbox.sent() == []


def test_add_shop_starts_a_new_shop_in_dry_mode(capsys):
    call_command("add_shop", "--name", "New Shop", "--kaspi-token", "kaspi-new-token-0001")
    shop_id = int(capsys.readouterr().out.strip().splitlines()[-1])
    assert Shop.objects.get(pk=shop_id).mode == Shop.Mode.DRY
