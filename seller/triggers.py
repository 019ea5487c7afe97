"""Everything that differs between triggers, in one table: a new trigger is one entry here (plus
its `Trigger` choice, the shop's `<trigger>_enabled` and `fallback_<trigger>` fields, and the
order state that creates it in `kaspi_sync.ingest`)."""

from dataclasses import dataclass
from datetime import datetime

from kaspi_sync.models import Order
from messaging.models import Trigger


@dataclass(frozen=True)
class TriggerSpec:
    event: str  # the order's field that says when it happened (the row's creation when empty)
    delay_setting: str  # the shop setting (hours) to wait after the event
    goal: str  # what the model is asked to do
    fallback: dict  # built-in template per language
    review_link: bool = False  # the message carries the Kaspi review link of the item bought
    delivery: bool = False  # the data says what happens next (pickup or courier, planned date)
    cancelled_by: tuple = (Order.State.CANCELLED, Order.State.RETURNED)

    def event_time(self, message) -> datetime:
        """When the event that fires this trigger happened."""
        return getattr(message.order, self.event) or message.created_at


TRIGGERS = {
    Trigger.POST_PURCHASE: TriggerSpec(
        event="created_at_kaspi",
        delay_setting="post_purchase_delay_hours",
        goal="Thank the customer by first name (`customer_first_name`; if empty, greet without a name) "
        "for the order, name what they bought (`items`) and say what happens next as given in `delivery`. "
        "You may suggest one product from `recommendations`, with its url.",
        fallback={
            "ru": "Здравствуйте, {first_name}! Спасибо за заказ в магазине {shop}: {items}. {delivery} "
            "Если появятся вопросы, просто ответьте на это сообщение.",
            "kk": "Сәлеметсіз бе, {first_name}! {shop} дүкеніндегі тапсырысыңызға рахмет: {items}. "
            "{delivery} Сұрақтарыңыз болса, осы хабарламаға жауап беріңіз.",
        },
        delivery=True,
    ),
    Trigger.ORDER_DELIVERED: TriggerSpec(
        event="delivered_at",
        delay_setting="delivered_delay_hours",
        goal="Ask the customer by first name (`customer_first_name`; if empty, greet without a name) "
        "how they like what they bought (`items`), and invite them to leave a review on Kaspi with `review_link`, "
        "copied exactly. You may suggest one product from `recommendations` that goes with it, with its url.",
        fallback={
            "ru": "Здравствуйте, {first_name}! Надеемся, покупка вам понравилась: {items}. "
            "Будем благодарны за отзыв на Kaspi: {review_link}",
            "kk": "Сәлеметсіз бе, {first_name}! Сатып алған тауарыңыз ұнады деп үміттенеміз: {items}. "
            "Kaspi-де пікір қалдырсаңыз, қуанамыз: {review_link}",
        },
        review_link=True,
    ),
}


def spec(trigger: str) -> TriggerSpec:
    return TRIGGERS[Trigger(trigger)]
