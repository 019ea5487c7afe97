"""A merchant's "does it sell" figures cover only their shops, like every other figure."""

from datetime import timedelta

from django.utils import timezone

from access import roles
from seller.attribution import attribute_orders
from tests.sales.conftest import held_out, order, sent

from .conftest import api_client

SALES_KEYS = ("attribution", "messaged", "holdout", "lift", "by_variant")


def test_the_merchant_s_sales_figures_leave_out_other_merchants_shops(shops, make_user):
    a, b = shops
    now = timezone.now()
    sent(b, "+77015550001", now - timedelta(days=2), variant="warm")
    order(b, "+77015550001", now - timedelta(days=1), total=33_000)
    held_out(b, "+77015550002", now - timedelta(days=2))
    sent(a, "+77015550003", now - timedelta(days=2))
    attribute_orders(now)
    api = api_client(make_user(roles.OPERATOR, shops=[a]))

    figures = api.get("/ai-seller/metrics").json()
    only_a = api.get(f"/ai-seller/metrics?shop={a.pk}").json()

    assert [row["shop_id"] for row in figures["by_shop"]] == [a.pk]
    assert figures["attribution"]["revenue"] == 0 and figures["holdout"]["customers"] == 0
    assert figures["messaged"]["customers"] == only_a["messaged"]["customers"] == 1
    assert {key: figures[key] for key in SALES_KEYS} == {key: only_a[key] for key in SALES_KEYS}


def test_the_merchant_s_open_handoffs_leave_out_other_merchants_shops(shops, make_user):
    """`conversations.handoffs_open` is a count of now, not of the period: it too keeps to the
    merchant's shops (it used to count every shop's open handoffs)."""
    from seller.models import Handoff

    a, b = shops
    Handoff.objects.create(shop=b, phone="+77015550009", session="default", reason="complaint")
    Handoff.objects.create(shop=a, phone="+77015550008", session="default", reason="complaint")
    api = api_client(make_user(roles.OPERATOR, shops=[a]))

    mine = Handoff.objects.filter(shop=a, status="open").count()
    assert mine < Handoff.objects.filter(status="open").count()
    assert api.get("/ai-seller/metrics").json()["conversations"]["handoffs_open"] == mine
