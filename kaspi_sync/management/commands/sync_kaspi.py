from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kaspi_sync.client import KaspiError
from kaspi_sync.models import Shop
from kaspi_sync.sync import SyncAlreadyRunning, SyncSummary, sync_shop


class Command(BaseCommand):
    help = "Sync orders from Kaspi now (every active shop, or one), with a progress bar and a summary."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, help="Shop id (default: every active shop)")
        parser.add_argument("--days", type=int, help="Read orders created in the last N days (default: since the "
                                                     "shop's last sync, or KASPI_SYNC_DAYS on its first)")

    def handle(self, *args, shop=None, days=None, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        shops = Shop.objects.filter(pk=shop) if shop else Shop.objects.filter(is_active=True)
        if not shops.exists():
            raise CommandError(f"No shop with id {shop}" if shop else "No active shop: add one with add_shop")
        total, failed = SyncSummary(), 0
        for one in shops.order_by("pk"):
            with tqdm(desc=f"{one.name} (shop {one.pk})", total=0, unit=" orders", disable=None) as bar:
                def progress(done, expected, bar=bar):
                    bar.total += expected
                    bar.update(done)

                try:
                    total.add(sync_shop(one, days=days, progress=progress))
                except (KaspiError, SyncAlreadyRunning) as exc:
                    failed += 1
                    self.stderr.write(str(exc))
        self.stdout.write(f"Shops synced: {shops.count() - failed}, {total}")
        if failed:
            raise CommandError(f"{failed} shop(s) failed")
