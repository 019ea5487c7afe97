"""Preview from admin: the message that would be sent, written now, with nothing sent or saved."""

from html import unescape

from messaging.models import MessageEvent, OutboundMessage

from .helpers import write


def run_action(admin_client, model_path, action, ids):
    response = admin_client.post(f"/admin/{model_path}/", {"action": action, "_selected_action": ids})
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_an_order_preview_shows_both_messages_and_sends_nothing(admin_client, sandbox, place_order):
    order = place_order(first_name="Асель")
    events = MessageEvent.objects.count()

    page = run_action(admin_client, "kaspi_sync/order", "preview_order_messages", [order.pk])

    requests = sandbox.get("openai/requests")
    assert len(requests) == 2  # one per trigger, written by the stand-in like a real message
    assert "Асель" in page and "JBL Tune 520BT черный" in page
    assert "order placed" in page and "order delivered" in page and "no outbox row yet" in page
    assert "productreview?orderCode=" + order.code in page
    assert sandbox.sent() == []
    row = OutboundMessage.objects.get(order=order)
    assert (row.status, row.text) == ("pending", "") and MessageEvent.objects.count() == events
    assert not OutboundMessage.objects.filter(order=order, trigger="ORDER_DELIVERED").exists()


def test_an_outbox_preview_shows_the_fallback_and_why(admin_client, sandbox, place_order, row_for):
    row = row_for(place_order(first_name="Динара"))
    sandbox.control("openai/mode", mode="phone")

    page = run_action(admin_client, "messaging/outboundmessage", "preview_outbox_messages", [row.pk])

    assert "Здравствуйте, Динара! Спасибо за заказ в магазине Tech Store Almaty" in page
    assert "fallback (why: guardrail:phone)" in page  # the model repeated it after the repair request
    assert "+7 701 555 12 34" in page  # the model's reply, shown to the operator as not used
    row.refresh_from_db()
    assert (row.status, row.text, row.source) == ("pending", "", "")
    assert sandbox.sent() == []


def test_a_preview_of_a_written_row_also_shows_what_it_carries(admin_client, sandbox, place_order, row_for):
    row = write(row_for(place_order(first_name="Мадина")))
    sandbox.control("openai/mode", mode="error500")

    page = run_action(admin_client, "messaging/outboundmessage", "preview_outbox_messages", [row.pk])

    assert "text stored on the row" in page and row.text in page
    assert "fallback (why: error:InternalServerError:500)" in page
    assert OutboundMessage.objects.get(pk=row.pk).text == row.text


def test_previewing_too_many_rows_at_once_is_refused(admin_client, sandbox, place_order):
    orders = [place_order(phone=f"70112345{n:02d}") for n in range(11)]

    response = admin_client.post("/admin/kaspi_sync/order/", {"action": "preview_order_messages",
                                                              "_selected_action": [o.pk for o in orders]}, follow=True)

    assert "Select at most 10 rows to preview." in response.content.decode()
    assert sandbox.get("openai/requests") == []
