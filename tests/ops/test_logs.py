"""Logs over a whole pipeline run: a real worker process with LOG_FORMAT=json at DEBUG, and the
web app receiving WAHA's webhooks. No full phone number, token or key may appear; every
pipeline step's line carries its shop, order and outbox ids."""

import copy
import io
import json
import logging.config
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from kaspi_sync.tasks import sync_all_shops
from messaging.models import OptOut, OutboundMessage

from ..helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
PHONES = ("7011234567", "7021234567")


@pytest.fixture
def worker_process(sandbox, transactional_db, tmp_path):
    """`celery worker` as the Procfile runs it, on the test database and the sandbox."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TEST_DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TEST_REDIS_URL": django_settings.REDIS_URL,
        "KASPI_API_URL": django_settings.KASPI_API_URL,
        "WAHA_URL": django_settings.WAHA_URL,
        "OPENAI_BASE_URL": django_settings.OPENAI_BASE_URL,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        "PYTHONWARNINGS": "ignore",  # Python's warnings (running as root, ...) are not log lines
    }
    output = tmp_path / "worker.log"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "--quiet", "worker", "--pool", "threads",
             "--concurrency", "4", "--queues", "sync,pipeline,llm,send", "--without-mingle", "--without-gossip",
             "--loglevel", "DEBUG"],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: "ready." in output.read_text() or process.poll() is not None, what="the worker to start")
        assert process.poll() is None, output.read_text()[-2000:]
        yield output
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def web_logs():
    """The web process's logging as configured for LOG_FORMAT=json at DEBUG, into a buffer."""
    stream = io.StringIO()
    config = copy.deepcopy(django_settings.LOGGING)
    config["handlers"]["console"].update(formatter="json", stream=stream)
    config["root"]["level"] = "DEBUG"
    logging.config.dictConfig(config)
    yield stream
    logging.config.dictConfig(django_settings.LOGGING)


def written_anywhere(secret: str, text: str) -> bool:
    """The phone's digits, also with spaces, dashes or brackets between them."""
    return re.search(r"[\s\-()]*".join(secret), text) is not None


def test_a_whole_run_logs_no_phone_token_or_key_and_tags_each_step(sandbox, shop, worker_process, web_logs,
                                                                    webhooks_to_app):
    OptOut.objects.create(phone="+77081234567")
    thanked = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone=PHONES[0], first_name="Айгерим")
    opted_out = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7081234567")
    sync_all_shops.delay()
    row = wait_until(lambda: OutboundMessage.objects.filter(order__code=thanked["code"], status="read").first(),
                     what="the message to be sent and read")
    wait_until(lambda: OutboundMessage.objects.filter(order__code=opted_out["code"], status="blocked").exists(),
               what="the opted-out customer to be blocked")
    sandbox.control("openai/mode", mode="error500")
    sandbox.control("waha/faults", responses=[400])  # WAHA's complaint quotes a chat id: it must be masked
    refused = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone=PHONES[1])
    sync_all_shops.delay()
    wait_until(lambda: OutboundMessage.objects.filter(order__code=refused["code"], status="failed").exists(),
               what="the refused fallback message")
    assert sandbox.control("waha/inbound", phone=PHONES[0], body="СТОП!")["status"] == 200
    wait_until(lambda: OptOut.objects.filter(phone="+" + "7" + PHONES[0]).exists(), what="the opt-out")
    time.sleep(1)  # the last lines reach the file

    worker_text, web_text = worker_process.read_text(), web_logs.getvalue()
    everything = worker_text + web_text

    for phone in (*PHONES, "7081234567"):
        assert not written_anywhere(phone, everything), phone
    for secret in (shop.kaspi_token, django_settings.WAHA_API_KEY, django_settings.OPENAI_API_KEY,
                   django_settings.WAHA_WEBHOOK_HMAC_KEY, django_settings.SECRET_KEY, django_settings.FIELD_ENCRYPTION_KEY):
        assert secret not in everything
    assert "***67@c.us" in worker_text  # masked, not left out: the line is there
    lines = [json.loads(line) for line in everything.splitlines() if line.startswith("{")]
    assert len(lines) > 50
    assert all({"asctime", "levelname", "name", "message"} <= set(line) for line in lines)
    assert all(line.startswith("{") for line in worker_text.splitlines() if line.strip()), "a worker line is not JSON"

    sent = next(line for line in lines if line["message"].startswith(f"outbox {row.pk} -> sent"))
    assert (sent["shop_id"], sent["order_id"], sent["outbox_id"]) == (shop.pk, row.order_id, row.pk)
    steps = [line for line in lines if line.get("outbox_id") == row.pk]
    assert {line["name"] for line in steps} >= {"messaging.outbox", "celery.app.trace"}
    assert any(line["name"] == "kaspi_sync.sync" and line.get("shop_id") == shop.pk for line in lines)
    assert any("generation failed" in line["message"] and line.get("outbox_id") for line in lines)
