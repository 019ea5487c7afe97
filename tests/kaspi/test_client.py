"""The Kaspi client against the sandbox: pages, windows, throttling, refusals, broken replies."""

from datetime import datetime, timedelta, timezone
from functools import partial

import pytest

from kaspi_sync import client as kaspi_client
from kaspi_sync import sync
from kaspi_sync.client import (KaspiAuthError, KaspiClient, KaspiError, KaspiMalformedReply, KaspiRefused,
                               windows)
from kaspi_sync.models import Order, OrderEntry, Shop

from .conftest import DAY_MS, make_shop


def test_windows_cover_a_period_in_kaspis_14_day_limit_without_gaps_or_overlaps():
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    end = start + timedelta(days=30, hours=5)

    parts = list(windows(start, end))

    assert len(parts) == 3 and parts[0][0] == start and parts[-1][1] == end
    assert all(stop - begin < timedelta(days=14) for begin, stop in parts)
    assert all(nxt[0] - prev[1] == timedelta(milliseconds=1) for prev, nxt in zip(parts, parts[1:]))


def test_a_month_of_orders_is_read_page_by_page_in_windows_kaspi_accepts(sandbox, db):
    shop = make_shop(sandbox, "paged-shop-token", orders=700)

    summary = shop.sync(days=30)

    assert summary.new == Order.objects.filter(shop=shop.shop).count() == 700
    lists = shop.order_lists()
    assert all(int(q["filter[orders][creationDate][$le]"]) - int(q["filter[orders][creationDate][$ge]"]) <= 14 * DAY_MS
               for q in lists)
    assert {r["status"] for r in shop.requests()} == {200}
    archive_pages = {}
    for q in shop.order_lists("ARCHIVE"):
        archive_pages.setdefault(q["filter[orders][creationDate][$ge]"], []).append(int(q["page[number]"]))
    assert len(archive_pages) == 3  # three windows for 30 days
    assert all(pages == list(range(len(pages))) for pages in archive_pages.values())
    assert max(len(pages) for pages in archive_pages.values()) >= 2


def test_a_429_is_retried_after_the_time_kaspi_asks_for(kaspi):
    kaspi.order()
    kaspi.faults(responses=[429, 429], retry_after=2)

    kaspi.sync()

    log = kaspi.requests()
    assert [r["status"] for r in log[:3]] == [429, 429, 200]
    assert log[1]["at"] - log[0]["at"] >= 1.9 and log[2]["at"] - log[1]["at"] >= 1.9
    assert Order.objects.count() == 1


def test_a_very_long_retry_after_is_cut_down(kaspi, monkeypatch):
    monkeypatch.setattr(kaspi_client, "MAX_RETRY_AFTER", 1)
    kaspi.order()
    kaspi.faults(responses=[429], retry_after=3600)

    kaspi.sync()

    log = kaspi.requests()
    assert [r["status"] for r in log[:2]] == [429, 200] and 0.9 <= log[1]["at"] - log[0]["at"] < 60


def test_server_errors_are_retried_and_then_the_sync_goes_on(kaspi):
    kaspi.order()
    kaspi.faults(responses=[502, 503])

    kaspi.sync()

    assert [r["status"] for r in kaspi.requests()[:3]] == [502, 503, 200]
    assert Order.objects.count() == 1


def test_a_flaky_kaspi_costs_retries_but_no_order(sandbox, db):
    shop = make_shop(sandbox, "flaky-shop-token", orders=600)
    shop.faults(flaky_rate=0.05, retry_after=0)

    summary = shop.sync(days=30)

    statuses = [r["status"] for r in shop.requests()]
    assert len([s for s in statuses if s != 200]) >= 2  # the sandbox's dice are seeded: always a few
    assert summary.new == Order.objects.filter(shop=shop.shop).count() == 600


def test_retries_are_bounded_and_the_failure_is_recorded_on_the_shop(kaspi, settings):
    settings.KASPI_MAX_RETRIES = 2
    kaspi.order()
    kaspi.faults(responses=[500] * 5)

    with pytest.raises(KaspiError) as failure:
        kaspi.sync()

    assert failure.value.transient and "HTTP 500 after retries" in str(failure.value)
    assert len(kaspi.requests()) == 3
    assert (kaspi.shop.token_status, kaspi.shop.sync_watermark) == ("ok", None)
    assert kaspi.shop.last_sync_error == str(failure.value)


def test_a_connection_that_fails_is_retried_then_reported(settings, db):
    settings.KASPI_MAX_RETRIES = 1
    settings.KASPI_CONNECT_TIMEOUT = 1
    client = KaspiClient("token", base_url="http://127.0.0.1:9", shop_label="shop 7")
    with pytest.raises(KaspiError, match=r"^shop 7: GET /orders/abc: ConnectionError after retries$"):
        client.order("abc")


@pytest.mark.parametrize("how", [401, 403])
def test_a_rejected_token_marks_the_shop_and_is_not_retried(kaspi, how):
    kaspi.order()
    if how == 403:
        kaspi.faults(responses=[403], forbidden_as="token")  # a 403 about the token; others: test_odd_replies
    else:
        Shop.objects.filter(pk=kaspi.shop.pk).update(kaspi_token="revoked-token-0000")

    with pytest.raises(KaspiAuthError, match=f"token rejected \\(HTTP {how}\\)"):
        kaspi.sync()

    assert [r["status"] for r in kaspi.requests()] == [how]
    assert kaspi.shop.token_status == Shop.TokenStatus.REJECTED
    assert "revoked-token" not in kaspi.shop.last_sync_error and f"shop {kaspi.shop.pk}" in kaspi.shop.last_sync_error
    assert Order.objects.count() == 0


def test_a_request_kaspi_refuses_is_reported_with_kaspis_reason(kaspi, monkeypatch):
    monkeypatch.setattr(kaspi_client, "PAGE_SIZE", 101)
    with pytest.raises(KaspiRefused, match=r"HTTP 400: page\[number\] must be >= 0 and page\[size\] between 1 and 100"):
        kaspi.sync()
    assert len(kaspi.requests()) == 1


# A reply whose orders lack their attributes costs only those orders: see test_odd_replies.
@pytest.mark.parametrize("how", [1, 3], ids=["no data", "broken JSON"])
def test_a_malformed_reply_names_the_shop_and_the_request_and_saves_nothing(synced, how):
    synced.order()
    synced.order(status="ACCEPTED_BY_MERCHANT")
    watermark = synced.shop.sync_watermark
    synced.faults(malformed=how)  # the next `how` replies are broken, the first of them in way `how`

    with pytest.raises(KaspiMalformedReply) as failure:
        synced.sync()

    message = str(failure.value)
    assert message.startswith(f"shop {synced.shop.pk}: GET /orders?page[number]=0&page[size]=100"
                              "&filter[orders][state]=NEW&filter[orders][creationDate][$ge]=")
    assert Order.objects.count() == 0
    assert (synced.shop.sync_watermark, synced.shop.last_sync_error) == (watermark, message)
    synced.faults(malformed=0)
    synced.sync()
    assert Order.objects.count() == 2


def test_a_reply_broken_in_the_middle_of_a_sync_leaves_no_order_half_saved(sandbox, db, monkeypatch):
    monkeypatch.setattr(sync, "BATCH", 100)  # saved in several transactions
    monkeypatch.setattr(sync, "read_ahead", partial(sync.read_ahead, depth=1))  # pages still to come when it breaks
    shop = make_shop(sandbox, "broken-midway-token", orders=1500)

    def break_a_later_reply(done, expected):
        if not shop.broken:
            shop.broken = shop.faults(malformed=1, malformed_after=3)  # once a batch is saved

    shop.broken = None
    with pytest.raises(KaspiMalformedReply):
        shop.sync(days=30, progress=break_a_later_reply)

    saved = Order.objects.filter(shop=shop.shop)
    assert 0 < saved.count() < 1500
    assert not saved.filter(entries__isnull=True).exists()
    shop.faults(malformed=0)
    shop.sync(days=30)
    assert saved.count() == 1500 and OrderEntry.objects.filter(order__shop=shop.shop).count() >= 1500
