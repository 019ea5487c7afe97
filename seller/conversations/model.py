"""One JSON question to the model, bounded in time like generation: the call runs in the
generation threads, so a step waits at most GENERATION_DEADLINE_SECONDS whatever the pool."""

import json
from concurrent.futures import TimeoutError as DeadlinePassed

import openai
from django.conf import settings

from seller import generation


class ModelUnavailable(Exception):
    """No key, an error, a timeout, a refusal or a reply that is not the JSON asked for."""


def ask_json(system: str, data: dict, max_tokens: int = 300) -> dict:
    if not settings.OPENAI_API_KEY:
        raise ModelUnavailable("no_api_key")
    messages = [{"role": "system", "content": system},
                {"role": "user", "content": json.dumps(data, ensure_ascii=False)}]
    call = generation.CALLS.submit(
        generation.client().chat.completions.create, model=settings.OPENAI_MODEL, messages=messages,
        temperature=0, max_tokens=max_tokens, response_format={"type": "json_object"})
    try:
        reply = call.result(timeout=settings.GENERATION_DEADLINE_SECONDS)
    except DeadlinePassed:
        call.cancel()
        raise ModelUnavailable("timeout") from None
    except openai.OpenAIError as exc:
        raise ModelUnavailable(f"error:{type(exc).__name__}") from exc
    choice = reply.choices[0] if reply.choices else None
    if choice is None or getattr(choice.message, "refusal", None) or choice.finish_reason != "stop":
        raise ModelUnavailable("refusal" if choice is not None else "empty")
    try:
        answer = json.loads(choice.message.content or "")
    except ValueError:
        raise ModelUnavailable("not_json") from None
    if not isinstance(answer, dict):
        raise ModelUnavailable("not_json")
    return answer
