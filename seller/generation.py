"""Ask the model for the message; on any failure or unsafe reply use the fallback template."""

import logging
import time
from dataclasses import dataclass

import openai
from django.conf import settings

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


def client() -> openai.OpenAI:
    return openai.OpenAI(
        api_key=settings.OPENAI_API_KEY,
        base_url=settings.OPENAI_BASE_URL,
        timeout=settings.OPENAI_TIMEOUT,
        max_retries=settings.OPENAI_MAX_RETRIES,  # the SDK retries 429, 5xx and timeouts with backoff
    )


def write(message) -> Written:
    data = prompts.order_data(message)
    fallback_text = fallback.render(fallback.template_for(message.shop, message.trigger), data, message.order.code)
    if not settings.OPENAI_API_KEY:
        return Written(fallback_text, "fallback", "no_api_key")
    started = time.monotonic()
    try:
        reply = client().chat.completions.create(
            model=settings.OPENAI_MODEL,
            messages=prompts.chat_messages(data, message.shop.voice),
            temperature=0.7,
            max_tokens=300,
        )
    except openai.OpenAIError as exc:
        log.warning("outbox %s: generation failed (%s), fallback used", message.pk, type(exc).__name__)
        return Written(fallback_text, "fallback", f"error:{type(exc).__name__}"[:200])
    elapsed = int((time.monotonic() - started) * 1000)
    usage = reply.usage
    tokens = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens} if usage else {}
    choice = reply.choices[0] if reply.choices else None
    if choice is None or getattr(choice.message, "refusal", None):
        return Written(fallback_text, "fallback", "refusal", generation_ms=elapsed, **tokens)
    text = (choice.message.content or "").strip()
    found = guardrails.problems(text, data)
    if found:
        log.info("outbox %s: reply broke guardrails %s, fallback used", message.pk, found)
        return Written(fallback_text, "fallback", "guardrail:" + ",".join(found), generation_ms=elapsed, **tokens)
    return Written(text, "ai", generation_ms=elapsed, **tokens)
