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
    goal_without_link: str = ""  # the goal when no review link can be built (no item has a Kaspi product)
    fallback_without_link: dict | None = None
    delivery: bool = False  # the data says what happens next (pickup or courier, planned date)
    cancelled_by: tuple = (Order.State.CANCELLED, Order.State.RETURNED)

    def goal_for(self, data: dict) -> str:
        """The goal, never promising a review link the data does not hold."""
        return self.goal_without_link if self.review_link and not data.get("review_link") else self.goal

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
        goal_without_link="Ask the customer by first name (`customer_first_name`; if empty, greet without a name) "
        "how they like what they bought (`items`), and invite them to rate it in the Kaspi app (no link is given: "
        "write none). You may suggest one product from `recommendations` that goes with it, with its url.",
        fallback_without_link={
            "ru": "Здравствуйте, {first_name}! Надеемся, покупка вам понравилась: {items}. "
            "Будем благодарны за оценку в приложении Kaspi.",
            "kk": "Сәлеметсіз бе, {first_name}! Сатып алған тауарыңыз ұнады деп үміттенеміз: {items}. "
            "Kaspi қосымшасында баға қалдырсаңыз, қуанамыз.",
        },
    ),
}


def spec(trigger: str) -> TriggerSpec:
    return TRIGGERS[Trigger(trigger)]
