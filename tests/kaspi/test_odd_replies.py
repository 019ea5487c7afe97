"""A sync that never stalls: each odd reply Kaspi gives costs at most the order it is about,
and the shop keeps syncing (its next new order still gets its thank-you)."""

import logging

import pytest
from django.urls import reverse

from config import redis
from kaspi_sync import ingest
from kaspi_sync.models import Order, OrderEntry, QuarantinedOrder, Shop
from kaspi_sync.tasks import sync_all_shops
from messaging.models import OutboundMessage

from .test_sync import outbox


def keeps_syncing(kaspi):
    """A later order is saved and gets its thank-you: the shop is not stuck."""
    later = kaspi.order()
    kaspi.sync()
    assert outbox(later["code"]) == {"POST_PURCHASE": "pending"}
    assert kaspi.shop.last_sync_error == ""


def quirk(kaspi, code, **quirks):
    kaspi.sandbox.control(f"kaspi/orders/{code}/quirks", **quirks)


@pytest.mark.parametrize("odd, stage, error", [
    ({"code": "9" * 60}, "store", "cannot be saved: DataError"),
    ({"creationDate": None}, "parse", "creationDate is empty"),
    ({"customer": {"firstName": ["not", "a", "name"]}}, "parse", "expected a string"),
], ids=["code longer than its column", "creationDate null", "a field of the wrong type"])
def test_an_order_that_cannot_be_parsed_or_stored_is_quarantined_and_the_page_is_saved(synced, odd, stage, error):
    good = [synced.order(), synced.order(status="ACCEPTED_BY_MERCHANT")]
    bad = synced.order()
    quirk(synced, bad["code"], attributes=odd)
    watermark = synced.shop.sync_watermark

    summary = synced.sync()

    assert summary.new == 2
    assert [outbox(o["code"]) for o in good] == [{"POST_PURCHASE": "pending"}] * 2
    assert not Order.objects.filter(kaspi_id=bad["id"]).exists()
    held = QuarantinedOrder.objects.get(shop=synced.shop)
    assert (held.kaspi_id, held.stage) == (bad["id"], stage)
    assert error in held.error
    assert held.raw["id"] == bad["id"] and held.raw["attributes"]["code"] == odd.get("code", bad["code"])
    assert synced.shop.sync_watermark > watermark and synced.shop.last_sync_error == ""
    keeps_syncing(synced)
    assert QuarantinedOrder.objects.get().attempts == 2  # seen again in the overlap, still odd


def test_try_again_in_the_admin_saves_the_order_once_kaspi_sends_it_whole(synced, admin_client):
    bad = synced.order(phone="7011234567")
    quirk(synced, bad["code"], attributes={"code": "9" * 60})
    synced.sync()
    held = QuarantinedOrder.objects.get()

    page = admin_client.get(reverse("admin:kaspi_sync_quarantinedorder_changelist")).content.decode()
    assert bad["code"] not in page and "could not be saved" in page and "DataError" in page
    detail = admin_client.get(reverse("admin:kaspi_sync_quarantinedorder_change", args=[held.pk])).content.decode()
    assert "9" * 60 in detail  # Kaspi's reply as it came

    answer = admin_client.post(reverse("admin:kaspi_sync_quarantinedorder_changelist"),
                               {"action": "try_again", "_selected_action": [held.pk]}, follow=True)
    assert "0 order(s) saved, 1 still quarantined" in answer.content.decode()

    quirk(synced, bad["code"])  # Kaspi fixed it (or the column was widened)
    answer = admin_client.post(reverse("admin:kaspi_sync_quarantinedorder_changelist"),
                               {"action": "try_again", "_selected_action": [held.pk]}, follow=True)

    assert "1 order(s) saved, 0 still quarantined" in answer.content.decode()
    assert not QuarantinedOrder.objects.exists()
    assert Order.objects.get(kaspi_id=bad["id"]).customer_phone == "+77011234567"
    assert OrderEntry.objects.filter(order__kaspi_id=bad["id"]).exists()
    assert outbox(bad["code"]) == {"POST_PURCHASE": "pending"}


def test_a_later_sync_that_saves_a_quarantined_order_releases_it(synced):
    bad = synced.order()
    quirk(synced, bad["code"], attributes={"creationDate": None})
    synced.sync()
    quirk(synced, bad["code"])

    synced.sync()

    assert not QuarantinedOrder.objects.exists()
    assert outbox(bad["code"]) == {"POST_PURCHASE": "pending"}


def test_entries_linked_but_missing_from_included_are_fetched_by_their_link(synced):
    two = synced.order(items=[{"product_code": "106363023", "quantity": 1}, {"product_code": "100812766", "quantity": 1}])
    quirk(synced, two["code"], missing_included=1)  # as Kaspi's own sample: two linked, one included

    synced.sync()

    names = list(OrderEntry.objects.filter(order__kaspi_id=two["id"]).values_list("name", flat=True))
    assert names == ["Apple AirPods Pro 2 белый", "LEGO Classic 11717 Кубики и колёса"]
    assert [r["path"].rsplit("/", 2)[1] for r in synced.requests("/entries")] == [two["id"]]
    assert outbox(two["code"]) == {"POST_PURCHASE": "pending"} and not QuarantinedOrder.objects.exists()
    keeps_syncing(synced)


def test_a_product_reply_with_null_data_saves_the_item_without_a_product(synced):
    order = synced.order(items=[{"name": "Чехол для телефона", "price": 2500, "quantity": 1}])
    quirk(synced, order["code"], product_null=True)

    synced.sync()

    entry = OrderEntry.objects.get(order__kaspi_id=order["id"])
    assert (entry.name, entry.product) == ("Чехол для телефона", None)
    assert outbox(order["code"]) == {"POST_PURCHASE": "pending"} and not QuarantinedOrder.objects.exists()
    keeps_syncing(synced)


class TestForbidden:
    def test_a_403_about_the_token_rejects_it(self, synced):
        synced.faults(responses=[403], forbidden_as="token")
        with pytest.raises(Exception, match=r"token rejected \(HTTP 403\)"):
            synced.sync()
        assert synced.shop.token_status == Shop.TokenStatus.REJECTED

    @pytest.mark.parametrize("how", ["html", "json"])
    def test_another_403_keeps_the_token_pauses_the_shop_with_backoff_and_alerts(self, synced, how, caplog):
        synced.faults(responses=[403, 403], forbidden_as=how)
        watermark = synced.shop.sync_watermark

        with caplog.at_level(logging.ERROR), pytest.raises(Exception, match="HTTP 403 not about the token"):
            synced.sync()

        shop = synced.shop
        assert (shop.token_status, shop.sync_watermark, shop.sync_failures) == ("ok", watermark, 1)
        first_pause = shop.sync_paused_until - shop.last_sync_error_at
        assert first_pause.total_seconds() == 5 * 60
        assert any(r.levelno == logging.ERROR and "ALERT" in r.getMessage() for r in caplog.records)
        with pytest.raises(Exception, match="HTTP 403"):
            synced.sync()
        assert (synced.shop.sync_paused_until - synced.shop.last_sync_error_at) == 2 * first_pause
        sync_all_shops()  # beat's fan-out skips the paused shop
        assert redis.client().llen("sync") == 0

        Shop.objects.filter(pk=shop.pk).update(sync_paused_until=None)  # the pause is over (or resumed in admin)
        keeps_syncing(synced)
        synced.shop.refresh_from_db()
        assert (synced.shop.sync_failures, synced.shop.sync_paused_until) == (0, None)


@pytest.mark.parametrize("known", ["APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT"])
def test_an_order_first_seen_with_an_unknown_status_gets_its_thank_you_once_the_status_is_known(synced, known):
    order = synced.order(status="ARRIVED")
    synced.sync()
    assert outbox(order["code"]) == {}

    synced.set_status(order["code"], known)
    synced.sync()

    assert outbox(order["code"]) == {"POST_PURCHASE": "pending"}


def test_any_exception_is_recorded_on_the_shop_and_shown_in_admin_and_status(synced, monkeypatch, admin_client):
    def broken(*args, **kwargs):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(ingest, "save_orders", broken)
    synced.order()

    with pytest.raises(RuntimeError):
        synced.sync()

    assert synced.shop.last_sync_error == "RuntimeError: something nobody foresaw"
    assert synced.shop.sync_failures == 1 and synced.shop.last_sync_error_at
    assert "RuntimeError: something nobody foresaw" in admin_client.get("/admin/kaspi_sync/shop/").content.decode()
    report = admin_client.get("/ai-seller/status").json()
    mine = next(s for s in report["shops"] if s["id"] == synced.shop.pk)
    assert (mine["last_sync_error"], mine["sync_failures"]) == ("RuntimeError: something nobody foresaw", 1)
    assert OutboundMessage.objects.count() == 0
