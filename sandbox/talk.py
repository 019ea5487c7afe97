"""The sandbox talks back: the OpenAI stand-in classifies customer replies and answers them
from the facts it is given (in the JSON shapes the app asks the real model for), and sandbox
customers reply to some of our messages with questions, complaints and thanks.

The stand-in's classifier is not the app's keyword pass: it matches words loosely (typos
included), as a model would, so the app's two layers are really two."""

import difflib
import json
import re
import threading

from . import webhooks

VOCABULARY = {  # checked in this order; plain words first, then with typos (see classify)
    "opt_out": ["хватит писать", "не пишите", "не присылайте", "отпишите", "отписаться", "надоели", "спам", "стоп",
                "stop", "не беспокойте", "отстаньте", "прекратите", "рассылки", "рассылок", "уберите номер",
                "удалите номер", "не хочу сообщений", "не хочу получать", "не надо писать", "жазбаңыз", "мазаламаңыз",
                "хабарлама керек емес", "жібермеңіз", "нөмірімді өшіріңіз", "алғым келмейді", "тоқтат"],
    "person": ["оператор", "менеджер", "живой человек", "позвоните", "перезвоните", "свяжитесь", "связаться",
               "звонок", "соедините", "қоңырау", "хабарласыңыз", "адаммен"],
    "complaint": ["сломан", "сломался", "сломалось", "брак", "бракованный", "разбит", "треснул", "царапины",
                  "повреждён", "не работает", "не включается", "не заряжает", "не играет", "не тот", "перепутали",
                  "вскрыта", "пустая коробка", "не хватает", "мятая", "грязная", "протекает", "обман", "обманули",
                  "ужасно", "ужасное", "отвратительный", "безобразие", "кошмар", "жалоба", "жалобу", "недоволен",
                  "верните деньги", "не вернули", "не привезли", "опоздал", "до сих пор нет", "так и не", "сынған",
                  "істемейді", "бұзылған", "ақау", "ақаулы", "сапасыз", "басқа тауар", "шағым", "келмеді",
                  "наразымын"],
    "order_question": ["когда", "где заказ", "где мой", "где забирать", "статус", "трек", "в пути", "какого числа",
                       "забрать", "самовывоз", "пункт выдачи", "курьер", "отправили", "қашан", "қайда", "тапсырысым",
                       "беру пункті", "қай жерде"],
    "shop_question": ["возврат", "вернуть", "обмен", "обменять", "поменять", "заменить", "размер", "цвет",
                      "гарантия", "отзыв", "оценку", "работаете", "график", "доставляете", "доставка по",
                      "сколько стоит", "инструкция", "есть ли", "в наличии", "такие же", "қайтару", "ауыстыру",
                      "кепілдік", "пікір", "жұмыс уақыты", "бар ма", "бола ма"],
    "thanks": ["спасибо", "спасиб", "пасиб", "спс", "благодарю", "благодарим", "отлично", "отличный", "супер",
               "класс", "молодцы", "лучшие", "понравилось", "доволен", "довольна", "рекомендую", "рахмет", "рақмет",
               "керемет", "жақсы", "ұнады", "алғыс", "👍", "🙏"],
}
TOPICS = [  # what an answer speaks of, from the customer's words
    ("review", ["отзыв", "оцен", "пікір"]), ("returns", ["возврат", "вернуть", "қайтар"]),
    ("exchange", ["обмен", "поменять", "размер", "ауыстыр"]), ("warranty", ["гарант", "кепіл"]),
    ("hours", ["работаете", "часы работы", "график", "уақыт"]), ("delivery", ["доставляете", "доставка в", "доставка по"]),
    ("order", ["когда", "где", "привез", "достав", "забрать", "статус", "курьер", "қашан", "қайда", "жеткіз"]),
]
PASS_ON = {"ru": "Уточню это у менеджера магазина и вернусь с ответом.",
           "kk": "Мұны дүкен менеджерінен нақтылап, жауап беремін."}
HELLO = {"ru": "Здравствуйте", "kk": "Сәлеметсіз бе"}
REPLIES = [  # what sandbox customers write back, in turn
    "А когда привезут заказ?", "Спасибо большое, всё понравилось!", "Товар пришёл сломанный, что делать?",
    "Тапсырысым қашан келеді?", "Можно поменять размер?", "Как оставить отзыв?", "Рахмет, бәрі жақсы!",
    "Позовите менеджера пожалуйста", "Какие условия возврата?", "А у вас есть такие же, но синие?",
    "спс, всё ок", "экран треснул, верните деньги",
]
WORD = re.compile(r"[\wәіңғүұқөһ]+|[👍🙏]")


def loose_in(text, phrase, exact):
    """The phrase's words in a row (one other word may sit between them), each word starting
    like the phrase's own: exactly, or with a typo (ratio >= 0.8) when not `exact`."""
    words = WORD.findall(text.lower().replace("ё", "е"))
    parts = phrase.lower().replace("ё", "е").split()

    def like(word, part):
        if exact or len(part) < 4:
            return word.startswith(part)
        return max(difflib.SequenceMatcher(None, word[:len(part) + d], part).ratio() for d in (-1, 0, 1)) >= 0.8

    for i in range(len(words)):
        j, ok = i, True
        for n, part in enumerate(parts):
            gap = 2 if n else 1
            found = next((k for k in range(j, min(j + gap, len(words))) if like(words[k], part)), None)
            if found is None:
                ok = False
                break
            j = found + 1
        if ok:
            return True
    return False


def classify(text):
    for exact in (True, False):  # what is written plainly first; typos only when nothing is
        for label, phrases in VOCABULARY.items():
            if any(loose_in(text, phrase, exact) for phrase in phrases):
                return label
    # A question about something the shop has or does, not placed above, is still a shop question.
    return "shop_question" if re.search(r"(?i)\b(есть|можно|сколько|какие|какой)\b.*\?", text) else "other"


def language(text):
    return "kk" if len(re.findall(r"[әіңғүұқөһ]", text.lower())) >= 2 else "ru"


def answer(facts, conversation):
    """An answer from the facts only; can_answer false when they do not hold one."""
    data = facts.get("facts") or {}
    lang = "kk" if data.get("language") == "kk" else "ru"
    asked = " ".join(m.get("text", "") for m in conversation[-3:] if m.get("from") == "customer").lower()
    topic = next((name for name, words in TOPICS if any(w in asked for w in words)), None)
    knowledge = {entry.get("topic"): " ".join(entry.get("sentences") or []) for entry in data.get("knowledge") or []}
    body = None
    if topic == "review" and data.get("review_link"):
        body = ("Оставить отзыв можно здесь: " if lang == "ru" else "Пікірді осында қалдыруға болады: ") + data["review_link"]
    elif topic == "order" and data.get("order_status"):
        body = f"{data['order_status']} {data.get('delivery', '')}".strip()
    elif topic in knowledge:
        body = knowledge[topic]
    elif topic == "review" and "reviews" in knowledge:
        body = knowledge["reviews"]
    name = data.get("customer_first_name")
    hello = f"{HELLO[lang]}, {name}!" if name else f"{HELLO[lang]}!"
    if body is None:
        return {"can_answer": False, "answer": f"{hello} {PASS_ON[lang]}"}
    return {"can_answer": True, "answer": f"{hello} {body}"}


def reply_content(mode, facts, messages, obey):
    """The JSON text the model returns for a classification or an answer prompt, per mode."""
    if facts.get("task") == "classify_reply":
        reply = str(facts.get("reply") or "")
        result = {"label": classify(reply), "language": language(reply)}
        if mode == "realistic":  # a real model's liberties with the shape: spelling, case, extra keys
            result = {"label": result["label"].replace("_", " ").capitalize(), "language": result["language"].upper(),
                      "confidence": 0.9}
    else:
        result = answer(facts, facts.get("conversation") or [])
        if mode == "injection":
            result = {"can_answer": True, "answer": obey(result["answer"], messages)}
    if mode == "nonsense":
        return "Хм, интересный вопрос 🙂"
    if mode == "empty":
        return ""
    return json.dumps(result, ensure_ascii=False)


def maybe_reply_later(state, session, message):
    """After our first message to a chat, now and then the customer writes back."""
    with state.lock:
        share, delay = state.talk_back_share, state.talk_back_delay
        chat = message["chatId"]
        if not share or chat in state.talked_back or not state.webhook_url:
            return
        state.talked_back.add(chat)
        rng = state.talk_back_rng
        if rng.random() >= share:
            return
        text, generation = REPLIES[state.talk_back_turn % len(REPLIES)], state.generation
        state.talk_back_turn += 1
    phone = chat.split("@")[0]

    def run():
        if state.stopping.wait(delay) or state.generation != generation:
            return
        webhooks.inbound(state, session, phone, text)

    threading.Thread(target=run, daemon=True, name="sandbox-talk-back").start()
