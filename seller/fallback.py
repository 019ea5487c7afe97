"""The shop's own words for when the model is unavailable or its reply is not safe to send."""

import logging
import re
import string

from messaging.models import Trigger

from . import triggers

log = logging.getLogger(__name__)

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
# A placeholder that only some triggers fill: which spec field says so.
ONLY_FOR = {"delivery": "delivery", "review_link": "review_link"}
MAX_TEMPLATE_LENGTH = 450
NO_ITEMS = {"ru": "ваш заказ", "kk": "тапсырысыңыз"}


def template_for(shop, trigger: str) -> str:
    own = getattr(shop, f"fallback_{trigger.lower()}")
    if own.strip() and not template_errors(own, trigger):
        return own.strip()
    return built_in(shop.language, trigger)


def built_in(language: str, trigger: str) -> str:
    return triggers.spec(trigger).fallback[language if language in ("ru", "kk") else "ru"]


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
        elif field in ONLY_FOR and not getattr(triggers.spec(trigger), ONLY_FOR[field]):
            users = [Trigger(t).label for t in Trigger.values if getattr(triggers.spec(t), ONLY_FOR[field])]
            errors.append(f"{{{field}}} exists only for {' and '.join(users)} messages.")
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
        "review_link": data.get("review_link", ""),
    }
    if "{review_link}" in template and not values["review_link"]:
        # no item has a Kaspi product: no link to promise, say it without one
        spec = triggers.spec(data["trigger"])
        if spec.fallback_without_link:
            template = spec.fallback_without_link[language if language in ("ru", "kk") else "ru"]
    if not values["first_name"]:
        # "Здравствуйте, {first_name}!" becomes "Здравствуйте!", never "Здравствуйте, !".
        template = re.sub(r"[,\s]*\{first_name\}[,\s]*(?=[!.?]|$)", "", template)
        template = re.sub(r"\{first_name\}[,\s]*", "", template)
    try:
        text = template.format_map(values)
    except (ValueError, KeyError, IndexError, AttributeError):  # saved before validation existed
        log.warning("a fallback template is broken; the built-in one was used")
        return render(built_in(language, data["trigger"]), data)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ([,!.?:])", r"\1", text).strip()
    return text[:1].upper() + text[1:]


def shorten(name: str, limit: int = 60) -> str:
    """The name's first sentence (titles rarely have two; injected text often follows one)."""
    name = name.split(". ")[0]
    return name if len(name) <= limit else name[:limit].rsplit(" ", 1)[0]
