"""Ask the model for the message; on any failure or unsafe reply use the fallback template."""

import functools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as DeadlinePassed
from dataclasses import dataclass, replace

import openai
import orjson
from django.conf import settings
from django.db import connection

from messaging.models import Trigger

from . import fallback, guardrails, prompts, variants

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Written:
    text: str
    source: str  # "ai" or "fallback"
    fallback_reason: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    generation_ms: int | None = None
    rejected_reply: str = ""  # what the model said, when it was not sent (shown in the preview)
    first_reply: str = ""  # the first reply, when it broke a check and a repair was asked for
    repair_reason: str = ""  # what it broke, e.g. "number:14,too_long:612"
    second_reply: str = ""  # the reply to the repair request
    variant: str = ""  # the trigger's variant it was written with (`seller.variants`)


CLIENT_MADE = threading.Lock()


def client() -> openai.OpenAI:
    configuration = (settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.OPENAI_TIMEOUT,
                     settings.OPENAI_MAX_RETRIES)
    # One thread makes it: the llm pool's 64 threads, all asking at once when the worker starts,
    # each made its own (an SSL context and a connection pool apiece) before the cache held one.
    with CLIENT_MADE:
        return cached_client(*configuration)


@functools.lru_cache(maxsize=4)
def cached_client(api_key, base_url, timeout, max_retries) -> openai.OpenAI:
    # One client per configuration, shared by the llm worker's threads: it keeps its connections open.
    # The SDK retries 429, 5xx, timeouts and lost connections itself, with backoff, `max_retries` times.
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)


def release_database_connection():
    """The model takes about a second: the connection goes back to the pool meanwhile (the next
    query borrows one again), so a threads pool of 64 shares a few connections, not 64."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool") and not connection.in_atomic_block:
        connection.close()


# The model is asked from these threads, so a step waits at most GENERATION_DEADLINE_SECONDS
# whatever the pool: Celery's soft time limit does nothing in the threads pool, and a server that
# trickles bytes never trips the SDK's per-read timeout.
# Its threads start only as calls need them: the llm pool's concurrency is what bounds the calls in
# flight (a fixed 32 here held a pool of 64 to 32 calls at a time).
CALLS = ThreadPoolExecutor(max_workers=256, thread_name_prefix="openai")


def ask_model(data: dict, voice: str, repair: list[dict] = (), deadline: float | None = None, goal: str = ""):
    """The model's reply; `repair` adds the rejected reply and what to fix; `goal` a variant's own;
    waits at most `deadline` seconds (GENERATION_DEADLINE_SECONDS by default)."""
    body = {"model": settings.OPENAI_MODEL, "messages": prompts.chat_messages(data, voice, goal) + list(repair),
            "temperature": 0.7, "max_tokens": 300}
    # The SDK's own request (its retries, timeouts and errors), without its typed request and reply:
    # building those pydantic models cost about a third of the call's CPU in the llm worker.
    call = CALLS.submit(client().post, "/chat/completions", body=body, cast_to=bytes)
    try:
        raw = call.result(timeout=settings.GENERATION_DEADLINE_SECONDS if deadline is None else deadline)
    except DeadlinePassed:
        call.cancel()
        raise openai.APITimeoutError(request=None) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None  # not a chat completion: reply_text says so


def write(message) -> Written:
    """The text for an outbox row (saved or not: the preview uses an unsaved one), in the
    customer's variant of the trigger when the shop runs variants."""
    variant = variants.choose(message.shop, message.trigger, message.phone)
    data = prompts.order_data(message)
    if variant and not variant.suggest_product:
        data["recommendations"] = []
    template = variants.fallback_template(variant, message.trigger) or fallback.template_for(message.shop, message.trigger)
    fallback_text = fallback.render(template, data)
    voice, goal = (variant.voice.strip() if variant else "") or message.shop.voice, variant.goal.strip() if variant else ""
    written = write_with(message, data, fallback_text, voice, goal)
    return replace(written, variant=variant.name) if variant else written


def write_with(message, data: dict, fallback_text: str, voice: str, goal: str) -> Written:
    def use_fallback(reason: str, **measured) -> Written:
        return Written(fallback_text, "fallback", reason[:200], **measured)

    if not settings.OPENAI_API_KEY:
        return use_fallback("no_api_key")
    release_database_connection()
    started = time.monotonic()
    measured = {"generation_ms": None, "prompt_tokens": None, "completion_tokens": None}
    try:
        text, failure = reply_text(ask_model(data, voice, goal=goal), data, measured)
    except openai.OpenAIError as exc:
        return use_fallback(error_reason(message, exc), generation_ms=elapsed_ms(started))
    measured["generation_ms"] = elapsed_ms(started)
    if failure:
        return use_fallback(failure, **measured)
    found = guardrails.findings(text, data, voice)
    if not found:
        return Written(text, "ai", **measured)
    # One repair: the model hears exactly what was wrong, within what is left of the deadline.
    reason = ",".join(dict.fromkeys(f"{f.check}:{f.detail}"[:60].rstrip(":") for f in found))[:300]
    repair = {"first_reply": text, "repair_reason": reason}
    log.info("outbox %s: the reply broke guardrails %s, a repair is asked for", message.pk, guardrails.problems(text, data, voice))
    left = max(settings.GENERATION_DEADLINE_SECONDS - (time.monotonic() - started), 0.1)
    try:
        asked = prompts.repair_messages(text, found, data["language"])
        second, failure = reply_text(ask_model(data, voice, asked, deadline=left, goal=goal), data, measured)
    except openai.OpenAIError:
        measured["generation_ms"] = elapsed_ms(started)
        return Written(fallback_text, "fallback", "guardrail:" + ",".join(guardrails.problems(text, data, voice)),
                       rejected_reply=text, **measured, **repair)
    measured["generation_ms"] = elapsed_ms(started)
    repair["second_reply"] = second
    still = guardrails.problems(second, data, voice) if not failure else [failure]
    if not still:
        return Written(second, "ai", **measured, **repair)
    log.info("outbox %s: the repaired reply broke guardrails %s, fallback used", message.pk, still)
    return Written(fallback_text, "fallback", "guardrail:" + ",".join(still), rejected_reply=second, **measured, **repair)


def reply_text(reply: dict | None, data: dict, measured: dict) -> tuple[str, str]:
    """The reply's tidied text and, when it cannot be used at all, why ("refusal", "truncated",
    "bad_reply"). `reply`: the chat completion as JSON gives it."""
    if not isinstance(reply, dict):
        return "", "bad_reply"
    usage = reply.get("usage")
    if isinstance(usage, dict):
        for field in ("prompt_tokens", "completion_tokens"):
            if isinstance(usage.get(field), int):
                measured[field] = (measured[field] or 0) + usage[field]
    choices = reply.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    message = choice.get("message") if choice else None
    if not isinstance(message, dict) or message.get("refusal") or choice.get("finish_reason") == "content_filter":
        return "", "refusal"
    if choice.get("finish_reason") == "length":
        return "", "truncated"
    content = message.get("content")
    return tidy(content if isinstance(content, str) else "", data), ""


def error_reason(message, exc: openai.OpenAIError) -> str:
    if isinstance(exc, openai.APITimeoutError):
        log.warning("outbox %s: the model timed out, fallback used", message.pk)
        return "timeout"
    status = getattr(exc, "status_code", None)
    log.warning("outbox %s: generation failed (%s %s), fallback used", message.pk, type(exc).__name__, status or "")
    return f"error:{type(exc).__name__}" + (f":{status}" if status else "")


def checked(reply: str, data: dict, voice: str = "") -> tuple[str, list[str]]:
    """A reply as the generation step sees it: tidied, and the checks it breaks (bench/voice.py)."""
    text = tidy(reply, data)
    return text, guardrails.problems(text, data, voice)


def tidy(text: str, data: dict) -> str:
    """Trim quotes the model may wrap its answer in, and make sure a review request carries the
    review link the system built, whatever the model did with it."""
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] == '"' and text.count('"') == 2:
        text = text[1:-1].strip()
    link = data.get("review_link")
    if data["trigger"] == Trigger.ORDER_DELIVERED and link and link not in text and text:
        text = f"{text}\n{link}"
    return text


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)

