"""Checks on every model reply before it may be sent in the shop's name.

The reply is compared with the data the model was given (`prompts.order_data`): what is quoted
from the data verbatim (names, items, the delivery sentence) is fine; anything else that looks
like a product, a number, a price, a discount or a promise is not, because the model was given
none. The checks are deliberately strict: a false alarm costs a fallback template, a miss costs
the shop's reputation.
"""

import re

from .sanitize import TLDS

MAX_LENGTH = 500  # WhatsApp-short, links included

URL = re.compile(
    r"(?i)\b(?:https?://|www\.)[^\s<>\"'«»]+"
    rf"|\b(?:[a-z0-9-]+\.)+(?:{TLDS})\b(?:/[^\s<>\"'«»]*)?"
)
LINK_TAIL = ".,!?;:)"
PHONE = re.compile(r"(?:\+?\d[\s\-()]*){10,}")
PLACEHOLDER = re.compile(r"\{[^}]*\}|\{\{|\}\}|\[[^\]\n]{1,40}\]|<[^>\n]+>|%s|\bX{3,}\b")
MARKUP = re.compile(
    r"\*\*|__|```|^\s*#{1,6}\s|<[^>\n]+>|\[[^\]\n]*\]\([^)\n]*\)|^\s*[-*•]\s"
    r"|(?:^|\s)[*_~][^\s*_~][^*_~\n]*[*_~](?=\s|$|[.,!?])",
    re.MULTILINE,
)
NUMBER = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+")
PRICE = re.compile(r"(?i)[₸$€₽]|\b(?:тг|тенге|теңге|kzt|руб\w*|сом)\b|\d\s*т\.")
DISCOUNT = re.compile(
    r"(?i)%|\b(?:скидк\w*|промокод\w*|купон\w*|акци[яиюей]\w*|распродаж\w*|кэшбэк\w*|кешбэк\w*|бонус\w*|"
    r"жеңілдік\w*|sale|promo\w*)"
)
PROMISE = re.compile(
    r"(?i)\b(?:бесплатн\w*|гарант\w*|обеща\w*|подар\w*|верн[её]м\w*|компенс\w*|завтра|сегодня|в течение|"
    r"тегін|сыйлық\w*|кепілд\w*|уәде\w*|ертең|бүгін)"
)
REFUSAL = re.compile(
    r"(?i)\b(?:я не могу (?:помочь|выполнить|написать|ответить)|не могу помочь|как (?:ии|ai|языковая модель)|"
    r"языков\w+ модел\w+|мен көмектесе алмаймын|i can[’']?t|i cannot|as an ai)"
)
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
QUOTED = re.compile(r"«([^»]+)»|\"([^\"]+)\"")
CYRILLIC = re.compile(r"[а-яёәіңғүұқөһ]", re.IGNORECASE)
KAZAKH = re.compile(r"[әіңғүұқөһ]", re.IGNORECASE)
LATIN = re.compile(r"[a-z]", re.IGNORECASE)
ALWAYS_ALLOWED_WORDS = {"kaspi", "kaspi.kz", "whatsapp"}
ALWAYS_ALLOWED_LINKS = {"kaspi.kz"}
SETTINGS_KEYS = {"trigger", "language"}  # what the data says about the message, not words it may use


def problems(text: str, data: dict) -> list[str]:
    """What is wrong with `text` given the data the model saw; empty when it may be sent."""
    text = (text or "").strip()
    if not re.search(r"\w", text):
        return ["empty"]
    found = []
    if len(text) > MAX_LENGTH:
        found.append("too_long")
    allowed = {link.rstrip("/") for link in allowed_links(data)} | ALWAYS_ALLOWED_LINKS
    if any(link.rstrip(LINK_TAIL).rstrip("/") not in allowed for link in URL.findall(text)):
        found.append("link")
    own = own_words(text, data)
    checks = [
        ("phone", PHONE.search(own)),
        ("placeholder", PLACEHOLDER.search(text)),
        ("markup", MARKUP.search(URL.sub(" ", text))),  # data is cleaned of markup: it counts even around names
        ("refusal", REFUSAL.search(own)),
        ("price", PRICE.search(own)),
        ("discount", DISCOUNT.search(own)),
        ("promise", PROMISE.search(own)),
        ("number", invented_numbers(own, data)),
        ("product", invented_names(own, data)),
    ]
    found += [name for name, failed in checks if failed]
    language = language_problem(own, data.get("language", "ru"))
    if language:
        found.append(language)
    return found


def allowed_links(data: dict) -> list[str]:
    links = [item["url"] for item in data.get("recommendations", [])]
    if data.get("review_link"):
        links.append(data["review_link"])
    return links


def data_strings(data: dict) -> list[str]:
    """Every value in the data (names, items, the delivery sentence ...), longest first."""
    values = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in SETTINGS_KEYS:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value not in (None, ""):
            values.append(str(value))

    walk(data)
    return sorted(set(values), key=len, reverse=True)


def own_words(text: str, data: dict) -> str:
    """The reply without its links and without what it quotes from the data verbatim: what the
    model wrote itself."""
    text = URL.sub(" ", text)
    for value in data_strings(data):
        if len(value) > 1:
            text = re.sub(re.escape(value), " ", text, flags=re.IGNORECASE)
    return text


def invented_numbers(own: str, data: dict) -> list[str]:
    known = {digits for value in data_strings(data) for digits in re.findall(r"\d+", value)}
    return [n for n in (re.sub(r"\D", "", m) for m in NUMBER.findall(own)) if n not in known]


def invented_names(own: str, data: dict) -> list[str]:
    """Brand or model words (Latin script) and «quoted» names that the data does not contain."""
    known_text = " ".join(data_strings(data)).lower()
    known_words = {word.strip("-'’") for word in LATIN_WORD.findall(known_text)} | ALWAYS_ALLOWED_WORDS
    words = (word.lower().strip("-'’") for word in LATIN_WORD.findall(own))
    invented = [word for word in words if word not in known_words]
    for match in QUOTED.finditer(own):
        quoted = (match.group(1) or match.group(2)).strip().lower()
        if quoted and quoted not in known_text:
            invented.append(quoted)
    return invented


def language_problem(own: str, language: str) -> str:
    """"script" when the reply is not in Cyrillic, "language" when it is Russian for a Kazakh
    shop or Kazakh for a Russian one; "" when it fits."""
    cyrillic, latin, kazakh = (len(pattern.findall(own)) for pattern in (CYRILLIC, LATIN, KAZAKH))
    if latin > cyrillic:
        return "script"
    if language == "kk" and cyrillic >= 20 and kazakh < max(1, cyrillic // 50):
        return "language"
    if language == "ru" and kazakh >= 3:
        return "language"
    return ""
