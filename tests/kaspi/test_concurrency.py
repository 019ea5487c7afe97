"""Many syncs at once: one shop is never synced twice at a time, a trigger never made twice,
and one failing shop never stops the others."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from kaspi_sync import tasks
from kaspi_sync.models import Order, OrderEntry, Shop
from kaspi_sync.sync import SyncAlreadyRunning, SyncRun, shop_lock, sync_shop
from messaging.models import OutboundMessage

from ..helpers import wait_until
from .conftest import make_shop

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(count: int, work):
    """Run `work` in `count` threads started together; the exceptions they raised."""
    start, errors = threading.Barrier(count), []

    def run():
        try:
            start.wait()
            work()
        except Exception as exc:  # collected for the test to assert on
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_a_sync_of_a_shop_already_syncing_is_skipped_and_reads_nothing(kaspi):
    kaspi.order()
    with shop_lock(kaspi.shop.pk):
        with pytest.raises(SyncAlreadyRunning):
            kaspi.sync()
        tasks.sync_shop(kaspi.shop.pk)  # the task skips quietly
    assert (kaspi.requests(), Order.objects.count()) == ([], 0)
    kaspi.sync()
    assert Order.objects.count() == 1


def test_concurrent_syncs_save_each_order_and_trigger_once(synced):
    for _ in range(40):
        synced.order()
    errors = in_threads(4, lambda: sync_shop(Shop.objects.get(pk=synced.shop.pk)))

    assert all(isinstance(e, SyncAlreadyRunning) for e in errors) and len(errors) < 4
    assert Order.objects.count() == OutboundMessage.objects.filter(trigger="POST_PURCHASE").count() == 40


def test_syncs_that_lost_their_lock_still_create_no_duplicate(synced):
    """The database keeps syncs of one shop apart page by page, should the Redis lock expire."""
    codes = [synced.order(status="ACCEPTED_BY_MERCHANT")["code"] for _ in range(40)]
    sandbox_entries = sum(len(synced.sandbox.get(f"kaspi/orders/{code}")["items"]) for code in codes)

    def read_without_the_lock():
        SyncRun(Shop.objects.get(pk=synced.shop.pk), timezone.now(), None, None, lambda: None).read()

    errors = in_threads(4, read_without_the_lock)
    for code in codes[:10]:
        synced.set_status(code, "COMPLETED")
    errors += in_threads(4, read_without_the_lock)

    assert errors == []
    assert Order.objects.count() == 40 and OrderEntry.objects.count() == sandbox_entries
    assert OutboundMessage.objects.filter(trigger="POST_PURCHASE").count() == 40
    assert OutboundMessage.objects.filter(trigger="ORDER_DELIVERED").count() == 10


def test_a_shop_with_a_rejected_token_never_stops_the_others(sandbox, celery_worker):
    good = make_shop(sandbox, "good-shop-token", name="Good")
    bad = Shop.objects.create(name="Bad", kaspi_token="revoked-token-0001")
    placed = good.order(phone="7011234567")

    tasks.sync_all_shops.delay()
    tasks.sync_all_shops.delay()  # a second round at once changes nothing

    wait_until(lambda: Shop.objects.get(pk=bad.pk).token_status == "rejected", what="the bad token to be rejected")
    wait_until(lambda: OutboundMessage.objects.filter(order__code=placed["code"]).exists(), what="the good shop's order")
    wait_until(lambda: Shop.objects.get(pk=good.shop.pk).last_synced_at, what="the good shop's sync")
    assert Order.objects.filter(shop=good.shop).count() == 1
    assert OutboundMessage.objects.filter(order__code=placed["code"]).count() == 1
    rejected_before = len([r for r in good.requests() if r["status"] == 401])

    before = timezone.now()
    tasks.sync_all_shops.delay()  # a rejected shop is left alone until its token changes
    wait_until(lambda: Shop.objects.get(pk=good.shop.pk).last_synced_at > before, what="another sync of the good shop")
    assert len([r for r in good.requests() if r["status"] == 401]) == rejected_before
