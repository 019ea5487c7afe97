"""A «СТОП» is never lost: not when the task cannot be queued, not when WAHA is down for an hour,
not when WAHA cannot say which phone an @lid is. Real PostgreSQL, Redis, a Celery worker, the
sandbox's WAHA over HTTP posting signed webhooks to a live app."""

import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from config import redis
from config.celery_app import app
from messaging import inbound, optouts
from messaging.models import InboundMessage, LidOptOut, OptOut, OutboundMessage
from sandbox.webhooks import lid_for
from seller import pipeline
from tests.helpers import wait_until
from tests.messaging.test_webhook import message_event, post

pytestmark = pytest.mark.django_db(transaction=True)
PHONE, DIGITS, CHAT = "+77019876543", "7019876543", "77019876543@c.us"
LID = lid_for("77019876543")
NOTHING_LISTENS = "http://127.0.0.1:9"  # the discard port: connection refused


@contextmanager
def broker_down():
    """Publishing fails the way it does when Redis, the broker, is unreachable."""
    conf = app.conf
    saved = conf.broker_write_url, conf.task_publish_retry
    conf.broker_write_url, conf.task_publish_retry = "redis://127.0.0.1:9/0", False
    app._pool, app.amqp._producer_pool = None, None  # pools are per broker URL: the next publish uses the dead one
    try:
        yield
    finally:
        conf.broker_write_url, conf.task_publish_retry = saved
        app._pool, app.amqp._producer_pool = None, None


def test_a_stop_survives_redis_down_at_the_webhook(live_server, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # repeats by envelope id are checked there
    redis.client.cache_clear()
    try:
        first = post(live_server.url, message_event(body="СТОП"), key=settings.WAHA_WEBHOOK_HMAC_KEY)
        again = post(live_server.url, message_event(body="СТОП"), key=settings.WAHA_WEBHOOK_HMAC_KEY)
    finally:
        redis.client.cache_clear()

    assert (first.status_code, first.json()["result"]) == (200, "ok")
    assert (again.status_code, again.json()["result"]) == (200, "duplicate")  # by the message id
    assert OptOut.objects.get().phone == PHONE


def sweep(hours_later: float = 0) -> int:
    """What the reconciler does every minute, at a moment `hours_later` from now."""
    return inbound.retry_unprocessed(older_than_seconds=60, now=timezone.now() + timedelta(hours=hours_later, minutes=2))


def confirmations(sandbox, chat=CHAT):
    return [m["text"] for m in sandbox.sent(chat) if m["text"] == optouts.confirmation()]


def test_a_stop_survives_a_failed_publish(sandbox, webhooks_to_app, celery_worker, caplog):
    with broker_down():
        answer = sandbox.control("waha/inbound", phone=DIGITS, body="СТОП")

    assert answer["status"] == 200  # not a 500 that WAHA's retry would meet as a duplicate
    assert "left to the reconciler" in caplog.text
    assert OptOut.objects.filter(phone=PHONE).exists()  # blocks sending from this moment
    assert InboundMessage.objects.get().processed_at is None

    assert sweep() == 1
    wait_until(lambda: InboundMessage.objects.filter(processed_at__isnull=False).exists(), what="the swept reply")
    wait_until(lambda: confirmations(sandbox), what="the confirmation")
    assert confirmations(sandbox) == [optouts.confirmation()]
    assert [h["status"] for h in sandbox.get("waha/webhooks")] == [200]


def no_run_under_way() -> bool:
    for reply in InboundMessage.objects.all():
        with inbound.one_run_at_a_time(reply.pk) as alone:
            if not alone:
                return False
    return True


def test_a_stop_survives_waha_down_for_an_hour(sandbox, webhooks_to_app, celery_worker, settings):
    sandbox_waha = settings.WAHA_URL
    settings.WAHA_URL = NOTHING_LISTENS
    sandbox.control("waha/inbound", phone=DIGITS, body="Стоп, больше не пишите")
    lid_answer = sandbox.control("waha/inbound", phone="7011112233", body="отписаться", as_lid=True)
    assert OptOut.objects.filter(phone=PHONE).exists()
    assert LidOptOut.objects.get().lid == lid_answer["event"]["payload"]["from"]

    # Every few minutes for an hour, more tries than any retry count would have allowed.
    for tick in range(1, 13):
        sweep(hours_later=tick * 5 / 60)
        wait_until(lambda: all(r.attempts >= tick + 1 for r in InboundMessage.objects.all()), what=f"try {tick}")
        wait_until(no_run_under_way, what=f"try {tick} to end")  # else the next sweep's run would wait for it
    pending = list(InboundMessage.objects.filter(processed_at__isnull=True))
    assert len(pending) == 2 and all("cannot connect" in r.pending_reason for r in pending)

    settings.WAHA_URL = sandbox_waha
    sweep(hours_later=1.1)
    wait_until(lambda: not InboundMessage.objects.filter(processed_at__isnull=True).exists(), what="both replies")
    assert set(OptOut.objects.values_list("phone", flat=True)) == {PHONE, "+77011112233"}
    assert confirmations(sandbox) == [optouts.confirmation()]
    assert confirmations(sandbox, "77011112233@c.us") == [optouts.confirmation()]
    assert not InboundMessage.objects.exclude(pending_reason="").exists()


def test_an_unmappable_lid_still_blocks_the_customer_once_its_phone_is_known(sandbox, webhooks_to_app, celery_worker,
                                                                             make_message):
    sandbox.control("waha/lids", mode="pn_null")
    answer = sandbox.control("waha/inbound", phone=DIGITS, body="Стоп!", as_lid=True, lid_known=False)
    assert answer["status"] == 200

    reply = wait_until(lambda: InboundMessage.objects.filter(processed_at__isnull=False).first(), what="the reply")
    held = LidOptOut.objects.get()
    assert (reply.phone, reply.is_opt_out, held.lid, held.mapped_at) == ("", True, LID, None)
    assert confirmations(sandbox, LID) == [optouts.confirmation()]  # answered in the chat it came from
    assert not OptOut.objects.exists()

    sweep()  # WAHA still does not know: the opt-out stays held, with why
    held.refresh_from_db()
    assert held.mapped_at is None and "pn: null" in held.last_error

    sandbox.control("waha/lids", mode="ok", lid=LID, phone=DIGITS)  # WAHA has learnt the phone
    sweep(hours_later=1)
    assert OptOut.objects.get().phone == PHONE
    assert LidOptOut.objects.get().phone == PHONE

    later = make_message(phone=PHONE, status=OutboundMessage.Status.PENDING)
    pipeline.start([later.pk])
    row = wait_until(lambda: OutboundMessage.objects.filter(pk=later.pk, status="blocked").first(), what="the block")
    assert row.reason == "opt_out" and sandbox.sent(CHAT) == []


def test_a_later_message_that_carries_both_forms_maps_a_held_lid(sandbox, webhooks_to_app, celery_worker):
    sandbox.control("waha/lids", mode="400")  # NOWEB without its store: no lookups at all
    sandbox.control("waha/inbound", phone=DIGITS, body="stop", as_lid=True, lid_known=False)
    wait_until(lambda: InboundMessage.objects.filter(processed_at__isnull=False).exists(), what="the reply")
    assert not OptOut.objects.exists() and LidOptOut.objects.filter(mapped_at=None).exists()

    sandbox.control("waha/inbound", phone=DIGITS, body="а когда доставка?", as_lid=True, lid_known=False, alt=True)

    assert OptOut.objects.get().phone == PHONE  # applied by the webhook itself
    assert LidOptOut.objects.get().phone == PHONE


@pytest.mark.parametrize("mode", ["500", "422"])
def test_a_lids_lookup_that_fails_leaves_the_reply_pending_or_held(sandbox, webhooks_to_app, celery_worker, mode):
    sandbox.control("waha/lids", mode=mode)
    sandbox.control("waha/inbound", phone=DIGITS, body="стоп", as_lid=True)

    if mode == "500":  # transient: the reply waits for the sweep, saying why
        reply = wait_until(lambda: InboundMessage.objects.exclude(pending_reason="").first(), what="the reason")
        assert reply.processed_at is None and "HTTP 500" in reply.pending_reason
    else:  # invalid lid, permanent: the reply is done, the opt-out stays held against the lid
        wait_until(lambda: InboundMessage.objects.filter(processed_at__isnull=False).exists(), what="the reply")
    assert LidOptOut.objects.filter(lid=LID, mapped_at=None).exists()


def test_a_held_lid_found_by_the_reverse_lookup_blocks_the_send(sandbox, webhooks_to_app, celery_worker,
                                                                  make_message):
    sandbox.control("waha/lids", mode="pn_null")  # WAHA never maps the lid to the phone...
    sandbox.control("waha/inbound", phone=DIGITS, body="СТОП", as_lid=True, lid_known=False)
    wait_until(lambda: InboundMessage.objects.filter(processed_at__isnull=False).exists(), what="the reply")
    sandbox.control("waha/lids", lid=LID, phone=DIGITS)  # ...but knows the phone's lid the other way round

    later = make_message(phone=PHONE, status=OutboundMessage.Status.PENDING)
    pipeline.start([later.pk])

    row = wait_until(lambda: OutboundMessage.objects.filter(pk=later.pk, status="blocked").first(), what="the block")
    assert row.reason == "opt_out" and sandbox.sent(CHAT) == []
    assert OptOut.objects.get().phone == PHONE and LidOptOut.objects.get().phone == PHONE


def test_a_stop_run_twice_at_once_still_gets_its_confirmation(sandbox, webhooks_to_app):
    """The sweep can queue a reply again while an earlier run of it still waits on WAHA. The
    second run must not take the first one's claim on the confirmation for a confirmation sent:
    when the first one fails, the reply stays for the sweep, and the customer gets it once."""
    sandbox.control("waha/inbound", phone=DIGITS, body="СТОП")
    reply = InboundMessage.objects.get()
    sandbox.control("latency", waha_ms=1500)
    sandbox.control("waha/faults", responses=[503])  # WAHA answers late, and with an error: nothing sent

    def first_run():
        try:
            inbound.process(reply.pk)
        finally:
            connection.close()

    first = threading.Thread(target=first_run)
    first.start()
    wait_until(lambda: not InboundMessage.objects.get().confirm_opt_out, what="the first run's claim")
    inbound.process(reply.pk)  # the second run, while the first waits on WAHA
    first.join()

    reply.refresh_from_db()
    assert reply.processed_at is None and "confirmation not sent yet" in reply.pending_reason
    sandbox.control("latency", waha_ms=0)
    inbound.process(reply.pk)  # the sweep's next run
    assert confirmations(sandbox) == [optouts.confirmation()]
    assert InboundMessage.objects.get().processed_at is not None
