"""The steps' plain SQL read of a row with its order and shop gives what the ORM gives."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.models import OutboundMessage
from seller import rows

pytestmark = pytest.mark.django_db


def test_a_row_read_in_one_statement_is_the_orms_row(place_order, row_for, shop):
    shop.quiet_hours = "22:00-09:00"
    shop.voice = "Тепло, на «вы»"
    shop.save()
    row = row_for(place_order(first_name="Әсел"))
    OutboundMessage.objects.filter(pk=row.pk).update(text="Рахмет!", prompt_tokens=12, not_before=row.created_at)
    expected = OutboundMessage.objects.select_related("order", "shop").get(pk=row.pk)

    with CaptureQueriesContext(connection) as queries:
        message = rows.read(row.pk)
        seen = [(message.order.shop.name, message.shop.quiet_hours, message.order.total_price)]
    assert len(queries) == 1

    for got, want in ((message, expected), (message.order, expected.order), (message.shop, expected.shop)):
        fields = [f.attname for f in type(want)._meta.concrete_fields if f.name != "kaspi_token"]
        assert {name: getattr(got, name) for name in fields} == {name: getattr(want, name) for name in fields}
    assert seen == [(shop.name, "22:00-09:00", expected.order.total_price)]
    assert message.shop.kaspi_token == shop.kaspi_token  # left out of the read, still there when asked


def test_a_missing_row_reads_as_none():
    assert rows.read(10**9) is None
