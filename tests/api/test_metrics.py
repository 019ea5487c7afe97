"""`GET /ai-seller/metrics` and `POST /ai-seller/reset-metrics`: figures counted from the outbox."""

from datetime import datetime, timedelta, timezone as dt_timezone

from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from kaspi_sync.models import Shop
from kaspi_sync.tasks import sync_all_shops
from messaging.models import MessageEvent, OptOut, OutboundMessage
from seller.models import MetricsPeriod

from ..helpers import wait_until

UTC = dt_timezone.utc


def settled(code, statuses=("sent", "delivered", "read", "blocked", "failed", "cancelled")):
    def check():
        row = OutboundMessage.objects.filter(order__code=code).first()
        return row if row and row.status in statuses else None
    return check


@pytest.mark.django_db(transaction=True)
def test_it_counts_what_a_real_pipeline_run_did(sandbox, shop, celery_worker, webhooks_to_app, api):
    OptOut.objects.create(phone="+77081234567")
    ai = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7011234567", first_name="Айгерим")
    opted_out = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7081234567")
    not_on_whatsapp = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7019990000")
    sync_all_shops.delay()
    for order in (ai, opted_out, not_on_whatsapp):
        wait_until(settled(order["code"]), what=f"order {order['code']} to settle")

    sandbox.control("openai/mode", mode="error500")
    fallback = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7021234567")
    sync_all_shops.delay()
    wait_until(settled(fallback["code"]), what="the fallback message")
    sandbox.control("openai/mode", mode="ok")
    sandbox.control("waha/faults", responses=[400])
    refused = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7051234567")
    sync_all_shops.delay()
    wait_until(settled(refused["code"]), what="the refused message")
    for order in (ai, fallback):
        wait_until(settled(order["code"], ("read",)), what="the read receipts")
    sandbox.control("waha/inbound", phone="7011234567", body="Спасибо, всё пришло!")
    # Replies are processed by a task, after the webhook has answered.
    wait_until(lambda: OutboundMessage.objects.filter(replied_at__isnull=False).exists(), what="the reply")

    figures = api.get("/ai-seller/metrics").json()

    assert (figures["sent"], figures["delivered"], figures["read"], figures["replied"]) == (2, 2, 2, 1)
    assert figures["blocked"] == {"no_whatsapp": 1, "opt_out": 1}
    assert (figures["failed"], figures["failed_by_reason"]) == (1, {"waha_http_400": 1})
    assert (figures["generated"], figures["fallback"], figures["fallback_share"]) == (4, 1, 0.25)
    assert figures["success_rate"] == round(2 / 3, 4)
    assert figures["deferred"] == 0 and figures["since"] is None
    assert figures["tokens"]["prompt"] > 0 and figures["tokens"]["cost_usd"] > 0
    assert figures["generation_latency_ms"]["avg"] is not None and figures["generation_latency_ms"]["p95"] is not None
    assert [(s["shop_id"], s["shop_name"], s["sent"]) for s in figures["by_shop"]] == [(shop.pk, shop.name, 2)]
    assert [(t["trigger"], t["sent"], t["blocked_total"]) for t in figures["by_trigger"]] == [("POST_PURCHASE", 2, 2)]
    merchants_today = timezone.localdate(timezone=ZoneInfo(settings.SELLER_TIMEZONE)).isoformat()
    assert [(d["date"], d["sent"], d["failed"]) for d in figures["by_day"]] == [(merchants_today, 2, 1)]


def test_reset_starts_a_new_period_and_deletes_nothing(api, history, shop):
    long_ago = timezone.now() - timedelta(days=3)
    history(shop, [("generated", long_ago), ("sending", long_ago), ("sent", long_ago)])
    assert api.get("/ai-seller/metrics").json()["sent"] == 1

    reset = api.post("/ai-seller/reset-metrics")

    assert reset.status_code == 201
    since = datetime.fromisoformat(reset.json()["since"])
    assert MetricsPeriod.objects.get().since == since
    after = api.get("/ai-seller/metrics").json()
    assert (after["sent"], datetime.fromisoformat(after["since"])) == (0, since)
    assert OutboundMessage.objects.count() == 1 and MessageEvent.objects.count() == 4
    history(shop, [("generated", timezone.now()), ("sending", timezone.now()), ("sent", timezone.now())])
    assert api.get("/ai-seller/metrics").json()["sent"] == 1
    assert api.get("/ai-seller/metrics?days=7").json()["sent"] == 2  # a chosen window reaches across a reset


def test_blocked_reasons_are_read_from_the_data_not_from_a_list(api, history, shop):
    now = timezone.now()
    history(shop, [("blocked", now)], reason="cap")
    history(shop, [("blocked", now)], reason="cap")
    history(shop, [("blocked", now)], reason="quiet_moon")
    history(shop, [("deferred", now)], reason="")

    figures = api.get("/ai-seller/metrics").json()

    assert figures["blocked"] == {"cap": 2, "quiet_moon": 1}
    assert (figures["blocked_total"], figures["deferred"]) == (3, 1)


def test_a_message_deferred_twice_counts_once(api, history, shop):
    now = timezone.now()
    history(shop, [("deferred", now), ("pending", now), ("deferred", now), ("pending", now), ("generated", now)])

    assert api.get("/ai-seller/metrics").json()["deferred"] == 1


def test_days_are_the_merchants_days(api, history, shop, settings):
    settings.SELLER_TIMEZONE = "Asia/Almaty"  # UTC+5
    late_evening_utc = datetime(2026, 11, 20, 20, 30, tzinfo=UTC)
    history(shop, [("sent", late_evening_utc)])
    history(shop, [("sent", late_evening_utc - timedelta(days=2))])

    days = api.get("/ai-seller/metrics").json()["by_day"]

    assert [(d["date"], d["sent"]) for d in days[:4]] == [
        ("2026-11-19", 1), ("2026-11-20", 0), ("2026-11-21", 1), ("2026-11-22", 0)
    ]


def test_shop_narrows_every_figure(api, history, shop):
    other = Shop.objects.create(name="Kitchen KZ", kaspi_token="kaspi-other-token-9")
    now = timezone.now()
    history(shop, [("sent", now)])
    history(other, [("sent", now)], trigger="ORDER_DELIVERED")
    history(other, [("blocked", now)], trigger="ORDER_DELIVERED", reason="opt_out")

    figures = api.get(f"/ai-seller/metrics?shop={other.pk}").json()

    assert (figures["shop"], figures["sent"], figures["blocked"]) == (other.pk, 1, {"opt_out": 1})
    assert [s["shop_id"] for s in figures["by_shop"]] == [other.pk]
    assert [t["trigger"] for t in figures["by_trigger"]] == ["ORDER_DELIVERED"]


def test_generation_figures_come_from_the_written_rows(api, shop, history, settings):
    settings.OPENAI_INPUT_PRICE_PER_1M, settings.OPENAI_OUTPUT_PRICE_PER_1M = 1.0, 2.0
    now = timezone.now()
    for ms, source in ((100, "ai"), (200, "ai"), (300, "ai"), (4000, "fallback")):
        history(shop, [("generated", now)], source=source, generated_at=now, generation_ms=ms,
                prompt_tokens=1000, completion_tokens=500)

    figures = api.get("/ai-seller/metrics").json()

    assert figures["generation_latency_ms"] == {"avg": 1150, "max": 4000, "p95": 300}
    assert figures["tokens"] == {"prompt": 4000, "completion": 2000, "cost_usd": 0.008}
    assert (figures["generated"], figures["fallback"], figures["fallback_share"]) == (4, 1, 0.25)


@pytest.mark.parametrize(("query", "field"), [("shop=abc", "shop"), ("shop=", "shop"), ("days=0", "days"), ("days=x", "days")])
def test_bad_query_parameters_get_a_clear_json_error(api, shop, query, field):
    response = api.get(f"/ai-seller/metrics?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_an_unknown_shop_is_a_json_404(api, shop):
    response = api.get("/ai-seller/metrics?shop=99999")

    assert response.status_code == 404
    assert response.json() == {"detail": "no shop 99999"}
