"""Ask the model for the message; on any failure or unsafe reply use the fallback template."""

import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as DeadlinePassed
from dataclasses import dataclass

import openai
from django.conf import settings
from django.db import connection

from messaging.models import Trigger

from . import fallback, guardrails, prompts

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


def client() -> openai.OpenAI:
    return cached_client(settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.OPENAI_TIMEOUT,
                         settings.OPENAI_MAX_RETRIES)


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
CALLS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="openai")


def ask_model(data: dict, voice: str):
    call = CALLS.submit(client().chat.completions.create, model=settings.OPENAI_MODEL,
                        messages=prompts.chat_messages(data, voice), temperature=0.7, max_tokens=300)
    try:
        return call.result(timeout=settings.GENERATION_DEADLINE_SECONDS)
    except DeadlinePassed:
        call.cancel()
        raise openai.APITimeoutError(request=None) from None


def write(message) -> Written:
    """The text for an outbox row (saved or not: the preview uses an unsaved one)."""
    data = prompts.order_data(message)
    fallback_text = fallback.render(fallback.template_for(message.shop, message.trigger), data)

    def use_fallback(reason: str, **measured) -> Written:
        return Written(fallback_text, "fallback", reason[:200], **measured)

    if not settings.OPENAI_API_KEY:
        return use_fallback("no_api_key")
    release_database_connection()
    started = time.monotonic()
    try:
        reply = ask_model(data, message.shop.voice)
    except openai.APITimeoutError:
        log.warning("outbox %s: the model timed out, fallback used", message.pk)
        return use_fallback("timeout", generation_ms=elapsed_ms(started))
    except openai.OpenAIError as exc:
        status = getattr(exc, "status_code", None)
        log.warning("outbox %s: generation failed (%s %s), fallback used", message.pk, type(exc).__name__, status or "")
        reason = f"error:{type(exc).__name__}" + (f":{status}" if status else "")
        return use_fallback(reason, generation_ms=elapsed_ms(started))
    measured = {"generation_ms": elapsed_ms(started)}
    if reply.usage:
        measured.update(prompt_tokens=reply.usage.prompt_tokens, completion_tokens=reply.usage.completion_tokens)
    choice = reply.choices[0] if reply.choices else None
    if choice is None or getattr(choice.message, "refusal", None) or choice.finish_reason == "content_filter":
        return use_fallback("refusal", **measured)
    if choice.finish_reason == "length":
        return use_fallback("truncated", **measured)
    text = tidy(choice.message.content or "", data)
    found = guardrails.problems(text, data)
    if found:
        log.info("outbox %s: the reply broke guardrails %s, fallback used", message.pk, found)
        return Written(fallback_text, "fallback", "guardrail:" + ",".join(found), rejected_reply=text, **measured)
    return Written(text, "ai", **measured)


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
