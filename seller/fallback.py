"""The shop's own words for when the model is unavailable or its reply is not safe to send."""

import logging
import re
import string

from messaging.models import Trigger

log = logging.getLogger(__name__)

DEFAULTS = {
    ("ru", Trigger.POST_PURCHASE): "Здравствуйте, {first_name}! Спасибо за заказ в магазине {shop}: {items}. {delivery} "
    "Если появятся вопросы, просто ответьте на это сообщение.",
    ("ru", Trigger.ORDER_DELIVERED): "Здравствуйте, {first_name}! Надеемся, покупка вам понравилась: {items}. "
    "Будем благодарны за отзыв на Kaspi: {review_link}",
    ("kk", Trigger.POST_PURCHASE): "Сәлеметсіз бе, {first_name}! {shop} дүкеніндегі тапсырысыңызға рахмет: {items}. "
    "{delivery} Сұрақтарыңыз болса, осы хабарламаға жауап беріңіз.",
    ("kk", Trigger.ORDER_DELIVERED): "Сәлеметсіз бе, {first_name}! Сатып алған тауарыңыз ұнады деп үміттенеміз: {items}. "
    "Kaspi-де пікір қалдырсаңыз, қуанамыз: {review_link}",
}
PLACEHOLDERS = {
    "first_name": "the customer's first name (left out with its comma when unknown)",
    "items": "what was bought, up to three names",
    "shop": "the shop's name",
    "order_code": "Kaspi's order number",
    "delivery": "pickup or delivery and the planned date (order placed only)",
    "review_link": "the Kaspi review link of the item bought (order delivered only)",
}
TEMPLATE_HELP = "Empty: the built-in template. Placeholders: " + ", ".join(
    "{%s} (%s)" % item for item in PLACEHOLDERS.items()
)
ONLY_FOR = {"delivery": Trigger.POST_PURCHASE, "review_link": Trigger.ORDER_DELIVERED}
MAX_TEMPLATE_LENGTH = 450
NO_ITEMS = {"ru": "ваш заказ", "kk": "тапсырысыңыз"}


def template_for(shop, trigger: str) -> str:
    own = shop.fallback_post_purchase if trigger == Trigger.POST_PURCHASE else shop.fallback_order_delivered
    if own.strip() and not template_errors(own, trigger):
        return own.strip()
    return DEFAULTS[(shop.language if shop.language in ("ru", "kk") else "ru", trigger)]


def template_errors(template: str, trigger: str) -> list[str]:
    """Why the template cannot be used, in words an operator can act on; empty when it is fine."""
    if len(template) > MAX_TEMPLATE_LENGTH:
        return [f"Keep the template under {MAX_TEMPLATE_LENGTH} characters: it is a WhatsApp message."]
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"Broken braces ({exc}). Placeholders look like {{first_name}}; write a literal brace as {{{{ or }}}}."]
    names = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    errors = []
    for _, field, spec, conversion in fields:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            errors.append(f"Unknown placeholder {{{field}}}. Use only {names}.")
        elif spec or conversion:
            errors.append(f"Write the placeholder plainly as {{{field}}}, without ! or :.")
        elif ONLY_FOR.get(field, trigger) != trigger:
            errors.append(f"{{{field}}} exists only for {Trigger(ONLY_FOR[field]).label} messages.")
    return errors


def render(template: str, data: dict) -> str:
    """Fill the template with the (already sanitised) order data."""
    language = data.get("language", "ru")
    values = {
        "first_name": data.get("customer_first_name", ""),
        "items": ", ".join(shorten(item["name"]) for item in data["items"][:3]) or NO_ITEMS.get(language, ""),
        "shop": data["shop_name"],
        "order_code": data.get("order_code", ""),
        "delivery": data.get("delivery", ""),
        "review_link": data.get("review_link") or "https://kaspi.kz/shop/",
    }
    if not values["first_name"]:
        # "Здравствуйте, {first_name}!" becomes "Здравствуйте!", never "Здравствуйте, !".
        template = re.sub(r"[,\s]*\{first_name\}[,\s]*(?=[!.?]|$)", "", template)
        template = re.sub(r"\{first_name\}[,\s]*", "", template)
    try:
        text = template.format_map(values)
    except (ValueError, KeyError, IndexError, AttributeError):  # saved before validation existed
        log.warning("a fallback template is broken; the built-in one was used")
        return render(DEFAULTS[(language, data["trigger"])], data)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ([,!.?:])", r"\1", text).strip()
    return text[:1].upper() + text[1:]


def shorten(name: str, limit: int = 60) -> str:
    """The name's first sentence (titles rarely have two; injected text often follows one)."""
    name = name.split(". ")[0]
    return name if len(name) <= limit else name[:limit].rsplit(" ", 1)[0]
