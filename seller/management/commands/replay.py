import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from kaspi_sync.models import Shop
from seller.replay import replay


class Command(BaseCommand):
    help = ("Dry run: the last N days' orders of a shop through today's policy, prompts and variants. "
            "Changes nothing, sends nothing, asks no model.")

    def add_arguments(self, parser):
        parser.add_argument("--shop", type=int, required=True, help="The shop's id")
        parser.add_argument("--days", type=int, default=30, help="How far back (default 30)")
        parser.add_argument("--samples", type=int, default=3, help="Sample texts to show (default 3)")
        parser.add_argument("--json", action="store_true", help="The report as JSON")

    def handle(self, *args, shop, days, samples, **options):
        if not 1 <= days <= 3660:
            raise CommandError("--days must be from 1 to 3660")
        if samples < 0:
            raise CommandError("--samples must be 0 or more")
        found = Shop.objects.filter(pk=shop).first()
        if found is None:
            raise CommandError(f"no shop {shop}; see the shop ids in admin or with add_shop")
        report = replay(found, days, samples)
        if options["json"]:
            self.stdout.write(dumps(report))
            return
        self.write(found, report)

    def write(self, shop, report):
        out = self.stdout.write
        out(f"Dry run for {shop.name} (shop {shop.pk}): orders of the last {report['days']} days, "
            f"today's policy and prompts. Nothing was changed or sent.")
        out(f"Triggers fired: {report['triggers']}; messages that would go: {report['messages']}")
        out("Blocked or cancelled, by reason: " + listing(report["blocked"]))
        out("Deferred on the way (a message may be deferred more than once): " + listing(report["deferred"]))
        out("By variant: " + listing(report["by_variant"]))
        out("Per day: " + listing(report["by_day"]))
        out("By hour of day (shop's time): " + listing({f"{h:02d}h": n for h, n in report["by_hour"].items()}))
        tokens = report["tokens_per_message"]
        out(f"Model cost at today's prices: ${report['model_cost_usd']} "
            f"({tokens['prompt']} prompt + {tokens['completion']} completion tokens a message)")
        for sample in report["samples"]:
            variant = f", variant {sample['variant']}" if sample["variant"] else ""
            out(f"\n#{sample['order']} {sample['trigger']}{variant}, at {sample['at']:%Y-%m-%d %H:%M} UTC "
                f"(fallback text; the model writes its own):\n{sample['fallback_text']}")


def listing(counts: dict) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.items()) or "none"


def dumps(report: dict) -> str:
    return json.dumps(report, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
