"""The shop's own words for when the model is unavailable or its reply is not safe to send."""

import re

from messaging.models import Trigger

DEFAULTS = {
    ("ru", Trigger.POST_PURCHASE): "Здравствуйте, {first_name}! Спасибо за заказ в магазине {shop}: {items}. "
    "Мы уже готовим его и сообщим, когда он будет в пути.",
    ("ru", Trigger.ORDER_DELIVERED): "Здравствуйте, {first_name}! Надеемся, {items} вам нравится. "
    "Будем благодарны за отзыв на Kaspi: {review_link}",
    ("kk", Trigger.POST_PURCHASE): "Сәлеметсіз бе, {first_name}! {shop} дүкеніндегі тапсырысыңызға рахмет: {items}. "
    "Біз оны дайындап жатырмыз.",
    ("kk", Trigger.ORDER_DELIVERED): "Сәлеметсіз бе, {first_name}! {items} ұнады деп үміттенеміз. "
    "Kaspi-де пікір қалдырсаңыз, қуанамыз: {review_link}",
}
PLACEHOLDERS = {"first_name", "items", "shop", "review_link", "order_code"}


def template_for(shop, trigger: str) -> str:
    own = shop.fallback_post_purchase if trigger == Trigger.POST_PURCHASE else shop.fallback_order_delivered
    return own.strip() or DEFAULTS[(shop.language, trigger)]


def clean(value: str, limit: int = 80) -> str:
    """Customer and product text as plain words: no links, no braces, no line breaks."""
    value = re.sub(r"(?i)\b(?:https?://|www\.)\S+", "", str(value or ""))
    value = re.sub(r"[{}<>\[\]\n\r\t]", " ", value)
    return re.sub(r"\s+", " ", value).strip()[:limit]


def render(template: str, data: dict, order_code: str = "") -> str:
    items = ", ".join(clean(item["name"], 60) for item in data["items"][:3]) or "ваш заказ"
    values = {
        "first_name": clean(data["customer_first_name"], 40) or "",
        "items": items,
        "shop": clean(data["shop_name"], 60),
        "review_link": data.get("review_link") or "https://kaspi.kz/shop/",
        "order_code": order_code,
    }
    text = template.format_map(values)
    return re.sub(r"\s+([,!.])", r"\1", text).strip()
