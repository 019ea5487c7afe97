"""One demo-like shop with a customer whose story has every kind of message: sent, read and
replied; held by quiet hours; blocked by an opt-out; written from the template after the
model broke a rule; written in dry mode. Rows as the pipeline writes them, with their events."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from kaspi_sync.models import Order, OrderEntry, Product, Shop
from messaging.models import InboundMessage, MessageEvent, OptOut, OutboundMessage

PHONE, OTHER_PHONE = "+77011234567", "+77025550011"
# 03:30 UTC is 08:30 in Almaty (UTC+5): inside 21:00-09:00 quiet hours.
NOW = datetime(2026, 11, 27, 3, 30, tzinfo=dt_timezone.utc)


def order(shop, code, phone, minutes_ago, state="new", first="Айгерим", item="JBL Tune 520BT черный"):
    at = NOW - timedelta(minutes=minutes_ago)
    placed = Order.objects.create(shop=shop, kaspi_id=f"k{code}", code=code, state=state, created_at_kaspi=at,
                                  customer_phone=phone, customer_first_name=first, customer_last_name="Сейткали",
                                  kaspi_state="PICKUP", kaspi_status="ACCEPTED_BY_MERCHANT", total_price=24990,
                                  delivered_at=at + timedelta(hours=3) if state == "delivered" else None)
    product, _ = Product.objects.get_or_create(shop=shop, code=f"1{code[-6:]}", defaults={"name": item})
    OrderEntry.objects.create(order=placed, product=product, name=item, quantity=1, base_price=24990,
                              total_price=24990, category_title="Наушники")
    return placed


def message(placed, trigger, moves, **fields):
    """`moves`: (status, note, minutes after the order) in order; the row ends in the last one."""
    row = OutboundMessage.objects.create(shop=placed.shop, order=placed, trigger=trigger, phone=placed.customer_phone,
                                         created_at=placed.created_at_kaspi)
    MessageEvent.objects.bulk_create([MessageEvent(message=row, status=status, note=note,
                                                   at=placed.created_at_kaspi + timedelta(minutes=after))
                                      for status, note, after in moves])
    OutboundMessage.objects.filter(pk=row.pk).update(status=moves[-1][0], **fields)
    row.refresh_from_db()
    return row


def seed() -> dict:
    shop = Shop.objects.create(name="Demo Shop Almaty", kaspi_token="demo-kaspi-token-story", mode=Shop.Mode.LIVE,
                               quiet_hours="21:00-09:00")
    dry = Shop.objects.create(name="New Shop Astana", kaspi_token="demo-kaspi-token-dry", mode=Shop.Mode.DRY)
    first = order(shop, "496149022", PHONE, 60 * 30, state="delivered")
    at = first.created_at_kaspi
    sent = message(first, "POST_PURCHASE", [("pending", "created", 0), ("approved", "place reserved", 0),
                                            ("generated", "ai", 1), ("sending", "", 1), ("sent", "", 1),
                                            ("delivered", "", 2), ("read", "", 9)],
                   text="Айгерим, спасибо за заказ JBL Tune 520BT черный! Заберите его в пункте выдачи Kaspi.",
                   source="ai", generated_at=at + timedelta(minutes=1), sent_at=at + timedelta(minutes=1),
                   delivered_at=at + timedelta(minutes=2), read_at=at + timedelta(minutes=9),
                   replied_at=at + timedelta(minutes=15), reserved_at=at)
    InboundMessage.objects.create(waha_id="false_77011234567@c.us_A1", sender="77011234567@c.us", phone=PHONE,
                                  body="Спасибо, всё получила!", in_reply_to=sent,
                                  received_at=at + timedelta(minutes=15), processed_at=at + timedelta(minutes=15))
    message(first, "ORDER_DELIVERED", [("pending", "created", 180), ("approved", "place reserved", 181),
                                       ("generated", "fallback", 182), ("deferred", "quiet_hours at send time", 182)],
            text="Здравствуйте, Айгерим! Надеемся, покупка вам понравилась: JBL Tune 520BT черный. Будем благодарны "
                 "за отзыв на Kaspi: https://kaspi.kz/shop/review/productreview?orderCode=496149022&rating=5",
            source="fallback", fallback_reason="guardrail:number,promise", generated_at=at + timedelta(minutes=182),
            not_before=datetime(2026, 11, 27, 4, 0, tzinfo=dt_timezone.utc), reserved_at=at + timedelta(minutes=181))
    second = order(shop, "496149023", PHONE, 50, item="Xiaomi Redmi Buds 6")
    message(second, "POST_PURCHASE", [("pending", "created", 0), ("deferred", "quiet_hours", 0)],
            not_before=datetime(2026, 11, 27, 4, 0, tzinfo=dt_timezone.utc))
    other = order(shop, "496149024", OTHER_PHONE, 40, first="Нурлан")
    OptOut.objects.create(phone=OTHER_PHONE, source=OptOut.Source.REPLY, keyword="стоп", shop=shop)
    message(other, "POST_PURCHASE", [("pending", "created", 0), ("blocked", "opt_out", 0)], reason="opt_out")
    failed = order(shop, "496149025", "+77051112233", 35, first="Данияр")
    message(failed, "POST_PURCHASE", [("pending", "created", 0), ("approved", "place reserved", 0),
                                      ("generated", "ai", 1), ("sending", "", 1),
                                      ("failed", "POST /api/sendText: HTTP 400", 1)],
            text="Данияр, спасибо за заказ!", source="ai", reason="waha_http_400",
            last_error="POST /api/sendText: HTTP 400")
    trial = order(dry, "596149026", "+77071234500", 20, first="Асель")
    message(trial, "POST_PURCHASE", [("pending", "created", 0), ("approved", "place reserved", 0),
                                     ("generated", "ai", 1), ("dry_run", "dry mode: written, not sent", 1)],
            text="Асель, спасибо за заказ! Заберите его в пункте выдачи Kaspi.", source="ai", reason="dry_mode")
    return {"shop": shop, "dry": dry, "order": first, "sent": sent}
