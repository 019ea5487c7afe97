"""`GET /ai-seller/status`: what is up and what is not."""

import pytest
from django.utils import timezone

from config import redis
from kaspi_sync.models import Shop


@pytest.mark.django_db(transaction=True)
def test_it_reports_every_part_of_a_running_system(sandbox, shop, celery_worker, api):
    Shop.objects.filter(pk=shop.pk).update(last_synced_at=timezone.now())

    response = api.get("/ai-seller/status")

    assert response.status_code == 200
    report = response.json()
    assert report["ok"] is True
    assert all(report[part] == {"ok": True} for part in ("database", "redis", "broker"))
    assert report["workers"]["ok"] and report["workers"]["seen"]
    assert report["waha"] == [{"session": "default", "status": "WORKING"}]
    assert report["openai"] == {"configured": True, "model": "gpt-4o-mini", "custom_base_url": True}
    [shop_report] = report["shops"]
    assert (shop_report["id"], shop_report["token_status"], shop_report["last_sync_error"]) == (shop.pk, "ok", "")
    assert shop_report["last_synced_at"] is not None


def test_it_shows_a_whatsapp_session_waiting_for_its_qr_code(sandbox, shop, api):
    sandbox.control("waha/sessions", name="shop-2", status="SCAN_QR_CODE", engine="GOWS")
    Shop.objects.create(name="Second", kaspi_token="kaspi-token-second", waha_session="shop-2")

    report = api.get("/ai-seller/status").json()

    assert {"session": "shop-2", "status": "SCAN_QR_CODE"} in report["waha"]
    assert report["workers"] == {"ok": True, "seen": []}


def test_an_unreachable_waha_is_reported_not_raised(shop, api, settings):
    settings.WAHA_URL = "http://127.0.0.1:9"

    report = api.get("/ai-seller/status").json()

    assert report["ok"] is True
    assert report["waha"][0]["status"] == "UNREACHABLE" and "cannot connect" in report["waha"][0]["error"]


def test_without_redis_the_status_is_503(api, settings, db):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    redis.client.cache_clear()
    try:
        response = api.get("/ai-seller/status")
    finally:
        redis.client.cache_clear()

    assert response.status_code == 503
    report = response.json()
    assert report["ok"] is False and report["redis"]["ok"] is False and "Connection" in report["redis"]["error"]
    assert report["database"] == {"ok": True}


def test_a_rejected_kaspi_token_shows_without_the_token(api, db):
    Shop.objects.create(name="Old shop", kaspi_token="kaspi-secret-token-777", token_status="rejected",
                        last_sync_error="GET /orders for shop 1: token rejected (HTTP 401)")

    report = api.get("/ai-seller/status").json()

    assert report["shops"][0]["token_status"] == "rejected"
    assert "kaspi-secret-token-777" not in str(report)
