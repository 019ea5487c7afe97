"""An operator's reply from the admin inbox passes the checks that make sense for a person's
words: no link to another site, no phone number. A refused reply is not sent, the operator sees
why, and the typed text stays in the form."""

import pytest

from seller.conversations import handoffs
from seller.models import Answer

from .conftest import CHAT, PHONE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def inbox(chat, admin_client):
    handoff, _ = handoffs.open_handoff(chat.shop, chat.order, "default", PHONE, "complaint")
    url = f"/admin/seller/handoff/{handoff.pk}/change/"
    return lambda reply: admin_client.post(url, {"reply": reply})


@pytest.mark.parametrize("reply, error", [
    ("Напишите нам в телеграм: https://t.me/techstore_kz", "a link to another site (https://t.me/techstore_kz)"),
    ("Позвоните менеджеру: +7 701 555 12 34", "a phone number"),
])
def test_a_reply_with_a_foreign_link_or_a_phone_is_refused_and_the_text_is_kept(chat, inbox, reply, error):
    page = inbox(reply)

    html = page.content.decode()
    assert page.status_code == 200 and error in html  # the form again, with the reason
    assert f"{reply}</textarea>" in html  # what the operator typed, still in the box
    assert not Answer.objects.exists()
    chat.send_all()
    assert chat.received() == []


def test_a_reply_with_a_kaspi_link_goes_to_the_customer(chat, inbox):
    reply = "Айгерим, оформите возврат в приложении: https://kaspi.kz/shop/info/returns"
    page = inbox(reply)

    assert page.status_code == 302
    chat.send_all()
    assert chat.received() == [reply]
    assert Answer.objects.get().kind == "operator"
