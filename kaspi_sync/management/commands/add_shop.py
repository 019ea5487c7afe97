from django.core.management.base import BaseCommand, CommandError

from kaspi_sync.models import Shop


class Command(BaseCommand):
    help = "Register a Kaspi shop. Prints the new shop's id on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--kaspi-token", required=True, help="From the Kaspi seller cabinet (stored encrypted)")
        parser.add_argument("--waha-session", default="", help="Default: WAHA_SESSION")
        parser.add_argument("--language", choices=Shop.Language.values, default=Shop.Language.RU)
        parser.add_argument("--mode", choices=Shop.Mode.values, default=Shop.Mode.DRY,
                            help="Default: dry (written and shown, nothing sent) until the go-live checklist is done")

    def handle(self, *args, name, kaspi_token, waha_session, language, mode, **options):
        if not kaspi_token.strip():
            raise CommandError("--kaspi-token is empty")
        shop = Shop.objects.create(name=name, kaspi_token=kaspi_token.strip(), waha_session=waha_session, language=language,
                                   mode=mode)
        self.stdout.write(f"Shop {shop.name!r} added (token {shop.masked_token}), mode {shop.mode}.")
        if shop.mode == Shop.Mode.DRY:
            self.stdout.write("Nothing is sent until the shop goes live: see its checklist in admin.")
        self.stdout.write(str(shop.pk))
