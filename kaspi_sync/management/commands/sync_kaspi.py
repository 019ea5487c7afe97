from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kaspi_sync.client import KaspiError
from kaspi_sync.models import Shop
from kaspi_sync.sync import SyncSummary, sync_shop


class Command(BaseCommand):
    help = "Sync orders from Kaspi now (all active shops, or one), with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, help="Shop id (default: every active shop)")
        parser.add_argument("--days", type=int, help="How far back to look (default: KASPI_SYNC_DAYS)")

    def handle(self, *args, shop=None, days=None, **options):
        shops = Shop.objects.filter(pk=shop) if shop else Shop.objects.filter(is_active=True)
        if not shops.exists():
            raise CommandError(f"No shop with id {shop}" if shop else "No active shop: add one with add_shop")
        total, failed = SyncSummary(), 0
        for one in shops:
            with tqdm(desc=one.name, unit=" orders", disable=None) as bar:
                try:
                    total.add(sync_shop(one, days=days, progress=bar.update))
                except KaspiError as exc:
                    failed += 1
                    self.stderr.write(f"{one.name}: {exc}")
        self.stdout.write(
            f"Orders seen: {total.seen}, new: {total.new}, updated: {total.updated}, triggers created: {total.triggers}"
        )
        if failed:
            raise CommandError(f"{failed} shop(s) failed")
