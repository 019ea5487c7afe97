"""What the LLM stand-in "writes": a short, warm message built from the data in the prompt.

The app puts one JSON object in its user message; the reply uses only those values, in the
language asked for, so guardrails that check "nothing invented" pass on an "ok" reply.
"""

import hashlib
import json

GENERIC = "Спасибо за ваш заказ! Если появятся вопросы, просто ответьте на это сообщение."

GREETINGS = {"ru": ["Здравствуйте", "Добрый день"], "kk": ["Сәлеметсіз бе", "Қайырлы күн"]}

TEMPLATES = {
    ("ru", "POST_PURCHASE"): [
        "{greeting} Спасибо за заказ в магазине «{shop}»: {items}. {delivery}"
        "Если будут вопросы, просто ответьте на это сообщение.",
        "{greeting} Благодарим за покупку! {items} уже собираем в «{shop}». {delivery}Хорошего дня!",
        "{greeting} Ваш заказ ({items}) принят, «{shop}» уже готовит его к отправке. {delivery}"
        "Спасибо, что выбрали нас!",
    ],
    ("ru", "ORDER_DELIVERED"): [
        "{greeting} Надеемся, покупка вам понравилась ({items}). {review}"
        "Спасибо, что выбрали «{shop}»!",
        "{greeting} Как вам {items}? {review}Спасибо, что покупаете в «{shop}».",
        "{greeting} Заказ доставлен, спасибо, что покупаете в «{shop}». {review}",
    ],
    ("kk", "POST_PURCHASE"): [
        "{greeting} «{shop}» дүкенінен тапсырыс бергеніңізге рахмет: {items}. {delivery}"
        "Сұрақтарыңыз болса, осы хабарламаға жауап беріңіз.",
        "{greeting} Сатып алғаныңызға рахмет! «{shop}» тапсырысыңызды ({items}) жинап жатыр. "
        "{delivery}Күніңіз сәтті өтсін!",
        "{greeting} Тапсырысыңыз ({items}) қабылданды, «{shop}» оны жіберуге дайындап жатыр. "
        "{delivery}Бізді таңдағаныңызға рахмет!",
    ],
    ("kk", "ORDER_DELIVERED"): [
        "{greeting} Сатып алған тауарыңыз ({items}) ұнады деп үміттенеміз. {review}"
        "«{shop}» дүкенін таңдағаныңызға рахмет!",
        "{greeting} {items} қалай екен? {review}«{shop}» дүкенін таңдағаныңызға рахмет.",
        "{greeting} Тапсырысыңыз жеткізілді, «{shop}» дүкенінен сатып алғаныңызға рахмет. {review}",
    ],
}

REVIEW = {"ru": "Будем благодарны за отзыв на Kaspi: {link} ",
          "kk": "Kaspi-де пікір қалдырсаңыз, қатты қуанамыз: {link} "}
RECOMMENDATION = {"ru": " Возможно, вам пригодится и {name}: {url}",
                  "kk": " Сондай-ақ сізге пайдалы болуы мүмкін: {name} {url}"}


def find_data(messages):
    """The first JSON object in the user messages (last message first), or None."""
    decoder = json.JSONDecoder()
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        text = text_of(message)
        start = text.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(text, start)
                if isinstance(value, dict):
                    return value
            except ValueError:
                pass
            start = text.find("{", start + 1)
    return None


def text_of(message):
    content = message.get("content")
    if isinstance(content, list):  # the SDK's content parts
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def write(facts):
    if not facts:
        return GENERIC
    language = "kk" if facts.get("language") == "kk" else "ru"
    trigger = "ORDER_DELIVERED" if facts.get("trigger") == "ORDER_DELIVERED" else "POST_PURCHASE"
    pick = int(hashlib.sha256(json.dumps(facts, sort_keys=True, ensure_ascii=False).encode())
               .hexdigest(), 16)
    name = str(facts.get("customer_first_name") or "").strip()
    greeting = GREETINGS[language][pick % 2]
    greeting = f"{greeting}, {name}!" if name else f"{greeting}!"
    delivery = str(facts.get("delivery") or "").strip()
    review = facts.get("review_link")
    templates = TEMPLATES[(language, trigger)]
    text = templates[pick // 2 % len(templates)].format(
        greeting=greeting, shop=facts.get("shop_name") or "Kaspi", items=_items(facts, language),
        delivery=f"{delivery.rstrip('.')}. " if delivery else "",
        review=REVIEW[language].format(link=review) if review else "")
    recommendations = [r for r in facts.get("recommendations") or [] if isinstance(r, dict) and r.get("name")]
    if recommendations:
        first = recommendations[pick % len(recommendations)]
        text += RECOMMENDATION[language].format(name=first["name"], url=first.get("url") or "").rstrip()
    return " ".join(text.split())


def _items(facts, language):
    names = []
    for item in (facts.get("items") or [])[:3]:
        if not isinstance(item, dict):
            item = {"name": item}
        try:
            quantity = int(item.get("quantity") or 1)
        except (TypeError, ValueError):
            quantity = 1
        name = str(item.get("name") or "")
        names.append(f"{name} × {quantity}" if quantity > 1 else name)
    return ", ".join(n for n in names if n) or ("ваш заказ" if language == "ru" else "тапсырысыңыз")
