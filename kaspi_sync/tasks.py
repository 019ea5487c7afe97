import logging

from celery import shared_task
from django.utils import timezone

from .client import KaspiError
from .models import Shop
from .sync import SyncAlreadyRunning
from .sync import sync_shop as sync_one_shop

log = logging.getLogger(__name__)


@shared_task(name="kaspi_sync.sync_all_shops")
def sync_all_shops():
    """One task per shop, so a failing shop never stops the others. Shops whose token Kaspi
    rejected wait for a new one; shops paused after a 403 wait for the pause's end."""
    shops = (Shop.objects.filter(is_active=True).exclude(token_status=Shop.TokenStatus.REJECTED)
             .exclude(sync_paused_until__gt=timezone.now()))
    for shop_id in shops.values_list("pk", flat=True):
        sync_shop.delay(shop_id)


# A backfill of a large shop may take minutes; the lock inside the sync keeps runs apart.
@shared_task(name="kaspi_sync.sync_shop", soft_time_limit=25 * 60, time_limit=30 * 60)
def sync_shop(shop_id: int, days: int | None = None):
    """No retry here: the client has retried what was transient, the watermark did not move,
    and the next scheduled sync reads the same orders again."""
    shop = Shop.objects.filter(pk=shop_id, is_active=True).first()
    if shop is None:
        return
    try:
        sync_one_shop(shop, days=days)
    except SyncAlreadyRunning:
        log.info("shop %s: a sync is already running, skipped", shop_id)
    except KaspiError as exc:
        log.warning("sync failed: %s", exc)  # names the shop and the request; kept on the shop for admin
    # Any other exception is recorded on the shop too, and Celery logs it as the task's failure.
