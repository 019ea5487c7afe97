"""The log formatters: whatever a line carries (message, arguments, traceback, extra fields),
phones come out masked and secrets never."""

import json
import logging

from config.logging import JsonFormatter, PipelineIdsFilter, TextFormatter, pipeline_ids

FORMAT = "%(levelname)s %(name)s %(message)s"


def record(msg, *args, exc_info=None, **extra):
    made = logging.LogRecord("seller.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    made.__dict__.update(extra)
    return made


def failure_with(text):
    try:
        raise RuntimeError(text)
    except RuntimeError:
        import sys

        return sys.exc_info()


def test_a_phone_in_the_arguments_is_masked_to_its_last_two_digits():
    line = TextFormatter(FORMAT).format(record("sending to %s and %s", "+7 701 123-45-67", "77021234567@c.us"))

    assert line == "WARNING seller.test sending to ***67 and ***67@c.us"


def test_a_traceback_is_masked_too():
    line = TextFormatter(FORMAT).format(record("boom", exc_info=failure_with("GET /check-exists?phone=77011234567")))

    assert "RuntimeError: GET /check-exists?phone=***67" in line
    assert "7011234567" not in line


def test_json_lines_mask_extra_fields_and_configured_secrets(settings):
    settings.OPENAI_API_KEY = "sk-live-abcdef123456"
    line = JsonFormatter(FORMAT).format(
        record("calling with %s", "sk-live-abcdef123456", data={"chat": "77011234567@c.us", "headers": {"X-Api-Key": "k-998877"}})
    )

    parsed = json.loads(line)
    assert parsed["message"] == "calling with ***"
    assert parsed["data"] == {"chat": "***67@c.us", "headers": {"X-Api-Key": "***"}}


def test_lines_written_inside_a_task_carry_its_ids():
    token = pipeline_ids.set({"shop_id": 3, "order_id": 41, "outbox_id": 97})
    try:
        tagged = record("outbox 97 -> sent")
        PipelineIdsFilter().filter(tagged)
    finally:
        pipeline_ids.reset(token)

    assert TextFormatter(FORMAT).format(tagged) == "WARNING seller.test outbox 97 -> sent [shop=3 order=41 outbox=97]"
    assert {key: json.loads(JsonFormatter(FORMAT).format(tagged))[key] for key in ("shop_id", "order_id", "outbox_id")} == {
        "shop_id": 3, "order_id": 41, "outbox_id": 97}
