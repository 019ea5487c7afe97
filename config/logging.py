"""A log filter that keeps phone numbers and secrets out of every log line."""

import logging
import re

# +7 701 123 45 67, 87011234567, 7011234567, 77011234567@c.us ...: keep the last 2 digits.
PHONE = re.compile(r"(?<!\d)(?:\+?[78][\s\-()]*)?7\d{2}[\s\-()]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)")
SECRET = re.compile(r"(?i)(x-api-key|x-auth-token|authorization|api[_-]?key|token|password)(['\"]?\s*[:=]\s*['\"]?)([^\s'\",}]+)")


def mask_phone(text: str) -> str:
    return PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-2:], text)


def redact(text: str) -> str:
    return mask_phone(SECRET.sub(lambda m: m.group(1) + m.group(2) + "***", text))


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
