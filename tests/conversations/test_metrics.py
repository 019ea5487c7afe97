"""Replies answered automatically, handed off, and how long customers waited: in the metrics,
in Prometheus and on the dashboard, counted from the rows."""

import pytest

from seller.conversations import handoffs
from seller.models import Handoff

from ..api.conftest import admin_token, api  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_conversations_are_counted_everywhere_operators_look(chat, api, admin_client):  # noqa: F811
    chat.handle("Когда привезут?")
    chat.handle("Спасибо!")
    chat.handle("Пришёл бракованный товар")
    handoffs.close(Handoff.objects.values_list("pk", flat=True), by="ops")

    figures = api.get("/ai-seller/metrics").json()["conversations"]
    prometheus = api.get("/metrics").content.decode()
    dashboard = admin_client.get("/admin/dashboard/").content.decode()

    assert {key: figures[key] for key in ("replies", "answered_automatically", "handed_off", "handoffs_open",
                                          "handoffs_closed")} == {
        "replies": 3, "answered_automatically": 2, "handed_off": 1, "handoffs_open": 0, "handoffs_closed": 1}
    assert figures["by_class"] == {"complaint": 1, "order_question": 1, "thanks": 1}
    assert figures["handoffs_by_reason"] == {"complaint": 1}
    assert figures["first_answer_seconds"]["avg"] is not None and figures["handoff_close_seconds"]["max"] is not None
    assert 'aiseller_replies_handled_total{label="order_question",outcome="answered"} 1.0' in prometheus
    assert 'aiseller_handoffs{reason="complaint",status="closed"} 1.0' in prometheus
    assert 'aiseller_answers_total{kind="acknowledgement",status="sent"} 1.0' in prometheus
    assert "answered automatically<b>2</b>" in dashboard
