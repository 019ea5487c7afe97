from django.core.management.base import BaseCommand

from messaging import outcomes
from seller import reached


class Command(BaseCommand):
    help = ("Rebuilds what the metrics read from summaries PostgreSQL keeps: the per-message outcomes (from "
            "the status history) and the lift's figures per reached message (from the outbox and the orders, "
            "with today's SELLER_ATTRIBUTION_DAYS). After a restore, or a change of that setting. Safe while "
            "workers run: they wait for it.")

    def handle(self, *args, **options):
        self.stdout.write(f"Outcome summary rebuilt from the events: {outcomes.rebuild()} rows")
        self.stdout.write(f"Lift figures rebuilt from the outbox and the orders: {reached.rebuild()} reached messages")
