from django.core.management.base import BaseCommand

from messaging import outcomes


class Command(BaseCommand):
    help = ("Rebuilds the metrics' per-message outcome summary from the status history (MessageEvent). "
            "Safe while workers run: they wait for it.")

    def handle(self, *args, **options):
        rows = outcomes.rebuild()
        self.stdout.write(f"Outcome summary rebuilt from the events: {rows} rows")
