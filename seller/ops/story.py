"""The customer's story, for the order and customer pages: each order, each message with its
state in words and every step of its history, in the shop's time zone."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from config.localtime import when, zone_label
from kaspi_sync.models import Order
from messaging import explain
from messaging.models import InboundMessage, OptOut, OutboundMessage
from messaging.session_state import sent_through


@dataclass
class MessageStory:
    message: OutboundMessage
    status: str
    author: str
    times: list  # (what, when) pairs, only those that happened
    steps: list  # (status, note, when)
    replies: list  # (body, when)


@dataclass
class OrderStory:
    order: Order
    zone: str
    created: str
    delivered: str
    messages: list = field(default_factory=list)


def message_story(message: OutboundMessage) -> MessageStory:
    tz_name = message.shop.tz_name
    times = [(label, when(getattr(message, name), tz_name))
             for label, name in (("created", "created_at"), ("written", "generated_at"), ("sent", "sent_at"),
                                 ("delivered", "delivered_at"), ("read", "read_at"), ("replied", "replied_at"))
             if getattr(message, name)]
    steps = [(event.status, event.note, when(event.at, tz_name)) for event in message.events.all()]
    replies = [(reply.body, when(reply.received_at, tz_name)) for reply in message.replies.all()]
    return MessageStory(message, explain.status_words(message), explain.author_words(message), times, steps, replies)


def order_story(order: Order) -> OrderStory:
    tz_name = order.shop.tz_name
    messages = (order.messages.select_related("shop", "order").prefetch_related("events", "replies")
                .order_by("created_at"))
    return OrderStory(order, zone_label(tz_name), when(order.created_at_kaspi, tz_name),
                      when(order.delivered_at, tz_name), [message_story(m) for m in messages])


@dataclass
class Limits:
    session: str
    used: int
    allowed: int
    window_days: int
    cooldown_until: str


def customer_story(phone: str, now=None) -> dict:
    """Everything about one phone, across shops."""
    now = now or timezone.now()
    orders = Order.objects.filter(customer_phone=phone).select_related("shop").order_by("-created_at_kaspi")
    opt_out = OptOut.objects.filter(phone=phone).select_related("shop").first()
    shops = {order.shop for order in orders}
    return {
        "phone": phone,
        "name": next((f"{o.customer_first_name} {o.customer_last_name}".strip() for o in orders), ""),
        "orders": [order_story(order) for order in orders],
        "opt_out": opt_out,
        "opt_out_when": when(opt_out.created_at, opt_out.shop.tz_name if opt_out and opt_out.shop else None)
        if opt_out else "",
        "limits": [limits_for(shop, phone, now) for shop in sorted(shops, key=lambda s: s.pk)],
        "replies": [(r.body, when(r.received_at)) for r in InboundMessage.objects.filter(phone=phone)[:50]],
    }


def limits_for(shop, phone: str, now) -> Limits:
    """The cap and cooldown as the policy counts them: places reserved on this sending number."""
    window = timedelta(days=shop.setting("cap_window_days"))
    reserved = (OutboundMessage.objects.filter(sent_through(shop.session_name), phone=phone,
                                               reserved_at__gte=now - window)
                .values_list("reserved_at", flat=True))
    last = max(reserved, default=None)
    cooldown_end = last + timedelta(hours=shop.setting("cooldown_hours")) if last else None
    return Limits(shop.session_name, len(reserved), shop.setting("max_messages"), shop.setting("cap_window_days"),
                  when(cooldown_end, shop.tz_name) if cooldown_end and cooldown_end > now else "")
