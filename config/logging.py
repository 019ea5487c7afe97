"""Log lines: phone numbers masked, secrets never written, and the shop, order and outbox ids
of the pipeline step that wrote them."""

import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

# +7 701 123 45 67, 87011234567, 7011234567, 77011234567@c.us ...: keep the last 2 digits.
PHONE = re.compile(r"(?<!\d)(?:\+?[78][\s\-()]*)?7\d{2}[\s\-()]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)")
SECRET = re.compile(r"(?i)(x-api-key|x-auth-token|authorization|api[_-]?key|token|password)(['\"]?\s*[:=]\s*['\"]?)([^\s'\",}]+)")
SECRET_SETTINGS = ("WAHA_API_KEY", "OPENAI_API_KEY", "WAHA_WEBHOOK_HMAC_KEY", "SECRET_KEY", "FIELD_ENCRYPTION_KEY")
IDS = ("shop_id", "order_id", "outbox_id")

# Set by the Celery task signals (seller/instrumentation.py) for the task being run.
pipeline_ids: ContextVar[dict] = ContextVar("pipeline_ids", default={})


def tag_row(message):
    """The shop and order of the outbox row the running task works on, once a step has loaded it."""
    ids = pipeline_ids.get()
    if ids.get("outbox_id") == message.pk:
        pipeline_ids.set({**ids, "shop_id": message.shop_id, "order_id": message.order_id})


@contextmanager
def logged_as(message):
    """Log lines written meanwhile carry this outbox row's ids (a task that works on many rows)."""
    token = pipeline_ids.set({"outbox_id": message.pk, "shop_id": message.shop_id, "order_id": message.order_id})
    try:
        yield
    finally:
        pipeline_ids.reset(token)


def mask_phone(text: str) -> str:
    return PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-2:], text)


def configured_secrets() -> list[str]:
    """The secrets in the settings, so that they are masked even where no pattern says "key"."""
    from django.conf import settings

    if not settings.configured:  # e.g. the sandbox run on its own
        return []
    values = []
    for name in SECRET_SETTINGS:
        value = getattr(settings, name, "") or ""
        values += [str(item) for item in value] if isinstance(value, (list, tuple)) else [str(value)]
    return [value for value in values if len(value) >= 6]


def redact(text: str) -> str:
    text = SECRET.sub(lambda m: m.group(1) + m.group(2) + "***", text)
    for secret in configured_secrets():
        text = text.replace(secret, "***")
    return mask_phone(text)


class PipelineIdsFilter(logging.Filter):
    """Adds `shop_id`, `order_id`, `outbox_id` of the running task to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in pipeline_ids.get().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """The plain format, the pipeline ids after the message, and the whole line (tracebacks
    too) redacted."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{name[:-3]}={getattr(record, name)}" for name in IDS if getattr(record, name, None) is not None)
        return super().formatMessage(record) + (f" [{ids}]" if ids else "")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(BaseJsonFormatter):
    """One JSON object a line; extra fields, exceptions and all redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
