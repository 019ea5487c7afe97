"""Which message an order is credited to: the last one delivered (sent, when no ack came) to the
same customer of the same shop within SELLER_ATTRIBUTION_DAYS before the order was placed.

Stored on the order (`Order.attributed_to`), so the admin shows it and the metrics sum it
without recomputing. Cancelled and returned orders keep their attribution but never count
(`COUNTED` below). Attribution alone over-credits the messages (people buy again anyway):
the holdout (`seller.holdout`) measures what they caused.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from kaspi_sync.models import Order
from messaging.models import OutboundMessage

Status = OutboundMessage.Status
REACHED = (Status.SENT, Status.DELIVERED, Status.READ)  # the customer has it (as far as WAHA says)
NOT_COUNTED = (Order.State.CANCELLED, Order.State.RETURNED)


def window() -> timedelta:
    return timedelta(days=settings.SELLER_ATTRIBUTION_DAYS)


def reached_messages():
    """Messages the customer has, with `reached_at`: delivered, or sent when no ack came."""
    return (OutboundMessage.objects.filter(status__in=REACHED, sent_at__isnull=False)
            .annotate(reached_at=Coalesce("delivered_at", "sent_at")))


def counted_orders():
    return Order.objects.exclude(state__in=NOT_COUNTED)


def attribute_orders(now=None, since=None) -> int:
    """Credit the orders of the last window (or since `since`: a backfill) that have no message
    yet; returns how many were credited. One UPDATE with a correlated subquery, safe to run twice
    or in parallel."""
    now = now or timezone.now()
    since = since or now - window()
    last_message = (
        reached_messages()
        .filter(shop_id=OuterRef("shop_id"), phone=OuterRef("customer_phone"),
                reached_at__lt=OuterRef("created_at_kaspi"),
                reached_at__gte=OuterRef("created_at_kaspi") - window())
        .order_by("-reached_at", "-pk")
        .values("pk")[:1]
    )
    credited = Order.objects.filter(attributed_to__isnull=True, created_at_kaspi__gte=since,
                                    created_at_kaspi__lte=now).exclude(customer_phone="").filter(Exists(last_message))
    return credited.update(attributed_to=Subquery(last_message))
