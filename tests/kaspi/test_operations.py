"""What an operator uses: sync_kaspi, the admin's view of shops, the beat schedule."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.forms import model_to_dict
from django_celery_beat.models import PeriodicTask

from config import redis
from kaspi_sync.admin import ShopForm
from kaspi_sync.models import Order, Shop


def test_sync_kaspi_backfills_one_shop_and_ends_with_a_summary(kaspi):
    kaspi.order(days_ago=5)
    kaspi.order(status="COMPLETED", days_ago=9)
    out = StringIO()

    call_command("sync_kaspi", shop=kaspi.shop.pk, days=10, stdout=out)

    assert out.getvalue().splitlines()[-1] == (
        "Shops synced: 1, orders seen: 2, new: 2, updated: 0, triggers created: 1")
    assert Order.objects.count() == 2


def test_sync_kaspi_says_which_shop_failed_and_why(kaspi):
    Shop.objects.filter(pk=kaspi.shop.pk).update(kaspi_token="revoked-token-0002")
    err = StringIO()
    with pytest.raises(CommandError, match=r"1 shop\(s\) failed"):
        call_command("sync_kaspi", shop=kaspi.shop.pk, stdout=StringIO(), stderr=err)
    assert f"shop {kaspi.shop.pk}: GET /orders?" in err.getvalue() and "token rejected (HTTP 401)" in err.getvalue()


def test_sync_kaspi_refuses_an_unknown_shop_or_a_bad_number_of_days(db):
    with pytest.raises(CommandError, match="No shop with id 999"):
        call_command("sync_kaspi", shop=999)
    with pytest.raises(CommandError, match="--days must be at least 1"):
        call_command("sync_kaspi", days=0)


def test_the_admin_shows_a_rejected_token_and_a_new_token_clears_it(admin_client, kaspi):
    Shop.objects.filter(pk=kaspi.shop.pk).update(token_status="rejected", last_sync_error="shop 1: token rejected")

    page = admin_client.get("/admin/kaspi_sync/shop/").content.decode()
    assert "rejected by Kaspi" in page and "shop 1: token rejected" in page

    shop = Shop.objects.get(pk=kaspi.shop.pk)
    form = ShopForm(instance=shop, data={**model_to_dict(shop, exclude=["kaspi_token"]), "new_kaspi_token": "fresh-token"})
    assert form.is_valid(), form.errors
    form.save()
    shop.refresh_from_db()
    assert (shop.kaspi_token, shop.token_status, shop.last_sync_error) == ("fresh-token", "ok", "")


def test_the_admin_action_queues_a_sync_of_the_selected_shops(admin_client, kaspi):
    admin_client.post("/admin/kaspi_sync/shop/", {"action": "sync_now", "_selected_action": [kaspi.shop.pk]})
    assert redis.client().llen("sync") == 1


def test_beat_syncs_every_shop_on_a_schedule_stored_in_the_database(db):
    task = PeriodicTask.objects.get(task="kaspi_sync.sync_all_shops")
    # Every minute: a new order's thank-you leaves within two minutes (bench/pipeline.py).
    assert task.enabled and (task.interval.every, task.interval.period) == (1, "minutes")
