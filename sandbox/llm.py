"""OpenAI chat completions stand-in: a real chat.completion object the official SDK parses,
and, on demand (POST /_sandbox/openai/mode), each way a model or its API can misbehave."""

import json
import re
import secrets
import time

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import talk, writer

PREFIX = "/openai/v1"
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
TIMEOUT_SLEEP_SECONDS = 30  # longer than any sane client timeout
REFUSAL = "I'm sorry, I can't help with that."
MODES = {"ok", "error500", "error429", "timeout", "refuse", "too_long", "link", "phone",
         "placeholder", "invented_price", "wrong_language", "empty", "markup",
         "other_language", "invented_product", "promise", "injection", "nonsense", "realistic", "invented_number",
         "cyrillic_product", "not_a_completion"}
# What a model such as gpt-4o-mini adds to a plain reply: an emoji, the shop's voice, a signature.
EMOJI = {"ru": " 😊", "kk": " 😊"}
SIGNATURE = {"ru": "\n\nС уважением, {shop}", "kk": "\n\nҚұрметпен, {shop}"}
INVENTED_NUMBER = {"ru": " Обычно заказы приходят за 3 дня.", "kk": " Әдетте тапсырыстар 3 күнде келеді."}
CYRILLIC_PRODUCT = {"ru": " Рекомендуем также защитную плёнку к нему.", "kk": " Оған қорғаныш әйнегін де ұсынамыз."}
VOICE = re.compile(r"The shop's voice[^:]*: (.*)")
INVENTED_PRODUCT = {"ru": " Также рекомендуем Samsung Galaxy S24 Ultra!",
                    "kk": " Сондай-ақ Samsung Galaxy S24 Ultra ұсынамыз!"}
PROMISE = {"ru": " Следующую доставку сделаем бесплатно, гарантируем!",
           "kk": " Келесі жеткізу тегін болады, кепілдік береміз!"}
INSTRUCTION = re.compile(r"(?i)(?:ignore (?:all )?(?:the )?previous instructions|(?:игнорируй|забудь)[^\n\"]*?инструкци\w*)[^\n\"]*")
PROMPT_LINK = re.compile(r"(?i)https?://[^\s\"\\<>]+")


def error(status, message, kind, code=None, param=None):
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return Response(json.dumps(body), status, content_type="application/json")


def chat_completions(state, request):
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not auth[len("Bearer "):].strip():
        return error(401, "You didn't provide an API key. You need to provide your API key in an "
                          "Authorization header using Bearer auth.", "invalid_request_error",
                     "invalid_api_key")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
    model, messages = body.get("model"), body.get("messages")
    if not isinstance(model, str) or not model.strip():
        return error(400, "you must provide a model parameter", "invalid_request_error", param="model")
    if (not isinstance(messages, list) or not messages
            or not all(isinstance(m, dict) and m.get("role") in ROLES for m in messages)):
        return error(400, "'messages' must be a non-empty array of {role, content} objects",
                     "invalid_request_error", param="messages")
    if body.get("stream"):
        return error(400, "stream is not supported by the sandbox", "invalid_request_error",
                     param="stream")
    with state.lock:
        state.llm_requests.append({"model": model, "messages": messages, "time": time.time(),
                                   "params": {k: v for k, v in body.items() if k not in ("model", "messages")}})
    mode = state.take_llm_mode()
    if state.llm_latency:
        state.stopping.wait(state.llm_latency)
    if mode == "error500":
        return error(500, "The server had an error while processing your request. Sorry about that!",
                     "server_error")
    if mode == "error429":
        return error(429, f"Rate limit reached for {model} on requests per min (RPM): Limit 3, "
                          "Used 3, Requested 1.", "requests", "rate_limit_exceeded")
    if mode == "timeout":
        state.stopping.wait(TIMEOUT_SLEEP_SECONDS)
    if mode == "not_a_completion":  # e.g. a proxy's page, answered 200
        return Response("<html><body>Service temporarily unavailable</body></html>", 200, content_type="text/html")
    facts = writer.find_data(messages)
    if facts and facts.get("task") in ("classify_reply", "answer_reply"):
        content, refusal = talk.reply_content(mode, facts, messages, obey), None
    else:
        content, refusal = misbehave(mode, writer.write(facts), facts or {}, messages), None
    if mode == "refuse":
        refusal = REFUSAL
    prompt = sum(len(writer.text_of(m)) for m in messages) // 4 + 1
    completion = len(content) // 4 + 1
    return Response(json.dumps({
        "id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion",
        "created": int(time.time()), "model": model, "system_fingerprint": "fp_sandbox",
        "choices": [{"index": 0, "logprobs": None, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content, "refusal": refusal,
                                 "annotations": []}}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    }, ensure_ascii=False), 200, content_type="application/json")


def misbehave(mode, text, facts, messages=()):
    """The reply a guardrail must catch, for each mode; "ok" and "timeout" are the plain text."""
    name = str(facts.get("customer_first_name") or "")
    shop = facts.get("shop_name") or "Kaspi"
    language = "kk" if facts.get("language") == "kk" else "ru"
    if mode == "other_language":
        return writer.write(dict(facts, language="ru" if language == "kk" else "kk"))
    if mode == "invented_product":
        return text + INVENTED_PRODUCT[language]
    if mode == "invented_number":
        return text + INVENTED_NUMBER[language]
    if mode == "cyrillic_product":
        return text + CYRILLIC_PRODUCT[language]
    if mode == "realistic":
        return realistic(text, shop, language, messages)
    if mode == "promise":
        return text + PROMISE[language]
    if mode == "injection":
        return obey(text, messages)
    if mode == "refuse":
        return REFUSAL
    if mode == "too_long":
        return ((text + " ") * (2000 // (len(text) + 1) + 1))[:2000]
    if mode == "link":
        return f"{text} Подробнее: http://evil.example/x"
    if mode == "phone":
        return f"{text} Звоните: +7 701 555 12 34"
    if mode == "placeholder":
        if name and name in text:
            return text.replace(name, "{first_name}", 1)
        return "Здравствуйте, {first_name}! " + text
    if mode == "invented_price":
        return f"{text} Только сегодня скидка 50% на весь каталог, всего 4 990 ₸!"
    if mode == "wrong_language":
        return f"Hi {name or 'there'}! Thank you for your order from {shop}. We hope you love it!"
    if mode == "empty":
        return ""
    if mode == "markup":
        return f"**Спасибо за заказ!**\n\n<p>{text}</p>\n\n- _Ваш «{shop}»_"
    return text


def realistic(text, shop, language, messages):
    """The plain reply as a real model writes it: an emoji after the greeting, a fact of the
    shop's voice repeated, a signature."""
    system = " ".join(writer.text_of(m) for m in messages if m.get("role") == "system")
    voice = VOICE.search(system)
    facts = [s.strip() for s in re.split(r"(?<=[.!?])\s+", voice.group(1)) if re.search(r"\d", s)] if voice else []
    first, _, rest = text.partition("!")
    text = f"{first}!{EMOJI[language]}{rest}" if rest else text
    if facts:
        text += " " + facts[0]
    return text + SIGNATURE[language].format(shop=shop)


def obey(text, messages):
    """A model that falls for prompt injection: it does what any "ignore previous instructions"
    in the prompt asks and repeats every non-Kaspi link it was given."""
    prompt = " ".join(writer.text_of(m) for m in messages if m.get("role") == "user")
    orders = [m.group(0).strip() for m in INSTRUCTION.finditer(prompt)]
    links = [link for link in PROMPT_LINK.findall(prompt) if "kaspi.kz" not in link]
    return " ".join([text, *orders, *links])


def not_found(state, request, rest=""):
    return error(404, f"Invalid URL ({request.method} {request.path[len(PREFIX):]})",
                 "invalid_request_error")


RULES = [
    Rule(f"{PREFIX}/chat/completions", endpoint=chat_completions, methods=["POST"]),
    Rule(f"{PREFIX}/<path:rest>", endpoint=not_found),
]
