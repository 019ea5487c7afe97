import logging

from celery import shared_task
from redis.exceptions import LockError

from config import redis

from .client import KaspiError
from .models import Shop
from .sync import sync_shop as sync_one_shop

log = logging.getLogger(__name__)
LOCK_SECONDS = 30 * 60  # longer than any sync; expires if a worker dies holding it


@shared_task(name="kaspi_sync.sync_all_shops")
def sync_all_shops():
    for shop_id in Shop.objects.filter(is_active=True).exclude(token_status=Shop.TokenStatus.REJECTED).values_list("pk", flat=True):
        sync_shop.delay(shop_id)


@shared_task(name="kaspi_sync.sync_shop", bind=True, max_retries=3)
def sync_shop(self, shop_id: int, days: int | None = None):
    shop = Shop.objects.filter(pk=shop_id, is_active=True).first()
    if shop is None:
        return
    lock = redis.client().lock(redis.key("sync-lock", shop_id), timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        log.info("shop %s: a sync is already running, skipped", shop_id)
        return
    try:
        sync_one_shop(shop, days=days)
    except KaspiError as exc:
        Shop.objects.filter(pk=shop_id).update(last_sync_error=str(exc)[:1000])
        if exc.transient:
            raise self.retry(countdown=60 * (self.request.retries + 1), exc=exc)
        log.warning("shop %s: sync failed: %s", shop_id, exc)
    finally:
        try:
            lock.release()
        except LockError:
            pass  # it expired: a very long sync; the next one may already run
