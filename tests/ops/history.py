"""A few weeks of realistic outbox history for two shops, written as the pipeline writes it
(rows with their fields, one MessageEvent per status change), for the dashboard's tests."""

import random
from datetime import timedelta

from django.utils import timezone

from kaspi_sync.models import Order, Shop
from messaging.models import MessageEvent, OutboundMessage
from seller.attribution import attribute_orders

BLOCK_REASONS = ["opt_out", "cap", "cap", "invalid_phone", "no_whatsapp", "expired", "holdout", "holdout"]


def seed(days: int = 14, seed: int = 7) -> list[Shop]:
    rng = random.Random(seed)
    shops = [Shop.objects.create(name="Tech Store Almaty", kaspi_token="kaspi-token-dash-1"),
             Shop.objects.create(name="Kitchen KZ", kaspi_token="kaspi-token-dash-2")]
    now = timezone.now()
    n = 0
    for day in range(days, -1, -1):
        for shop in shops:
            for _ in range(rng.randint(4, 12) if shop.name.startswith("Tech") else rng.randint(2, 6)):
                n += 1
                at = now - timedelta(days=day, hours=rng.uniform(0, 6))
                order = Order.objects.create(shop=shop, kaspi_id=f"D{n}", code=f"8{n:08d}", state="new",
                                             created_at_kaspi=at, customer_phone=f"+7701{n:07d}")
                trigger = rng.choice(["POST_PURCHASE", "POST_PURCHASE", "ORDER_DELIVERED"])
                row = OutboundMessage.objects.create(shop=shop, order=order, trigger=trigger, phone=order.customer_phone,
                                                     created_at=at)
                moves = [("pending", at)]
                fields = {}
                roll = rng.random()
                if roll < 0.18:
                    fields["reason"] = rng.choice(BLOCK_REASONS)
                    moves.append(("blocked", at))
                elif roll < 0.26:
                    moves.append(("deferred", at))
                else:
                    fallback = rng.random() < 0.15
                    fields.update(source="fallback" if fallback else "ai", generated_at=at,
                                  generation_ms=rng.randint(300, 900) if fallback else rng.randint(700, 2600),
                                  prompt_tokens=None if fallback else rng.randint(350, 520),
                                  completion_tokens=None if fallback else rng.randint(60, 140))
                    moves += [("generated", at), ("sending", at + timedelta(seconds=40))]
                    if rng.random() < 0.05:
                        fields["reason"] = "waha_http_400"
                        moves.append(("failed", at + timedelta(seconds=41)))
                    else:
                        moves.append(("sent", at + timedelta(seconds=41)))
                        fields["sent_at"] = at + timedelta(seconds=41)
                        if rng.random() < 0.9:
                            moves.append(("delivered", at + timedelta(minutes=2)))
                            fields["delivered_at"] = at + timedelta(minutes=2)
                            if rng.random() < 0.7:
                                moves.append(("read", at + timedelta(minutes=rng.randint(5, 300))))
                        if rng.random() < 0.12:
                            fields["replied_at"] = at + timedelta(hours=1)
                MessageEvent.objects.bulk_create([MessageEvent(message=row, status=s, at=t) for s, t in moves])
                if fields.get("reason") == "holdout":
                    fields["updated_at"] = at
                OutboundMessage.objects.filter(pk=row.pk).update(status=moves[-1][0], **fields)
                # Some customers buy again within days, the messaged ones more often.
                if rng.random() < (0.35 if "sent_at" in fields else 0.15) and day > 1:
                    Order.objects.create(shop=shop, kaspi_id=f"R{n}", code=f"9{n:08d}", state="delivered",
                                         created_at_kaspi=at + timedelta(days=rng.uniform(0.5, min(day, 6))),
                                         total_price=rng.randint(3, 40) * 1000, customer_phone=order.customer_phone)
    attribute_orders(now)
    return shops
