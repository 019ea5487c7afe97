"""Many worker processes, lost Redis keys and a worker killed mid-send: the customer still gets
at most what the policy allows, and never the same message twice."""

import time
from collections import Counter

import pytest
from django.conf import settings
from django.utils import timezone
from kombu import Connection

from messaging.models import OutboundMessage
from seller.tasks import send_whatsapp
from seller import pipeline
from tests.helpers import wait_until
from tests.policy.conftest import forget_redis_keys

pytestmark = pytest.mark.django_db(transaction=True)
CHAT = "77011234567@c.us"
DECIDED = ("sent", "deferred", "blocked", "failed", "cancelled", "unknown")


def statuses(rows):
    return Counter(OutboundMessage.objects.filter(pk__in=[row.pk for row in rows]).values_list("status", flat=True))


def redeliver_unacknowledged(visibility_timeout: int):
    """What every worker's broker connection does now and then (kombu's sweep, every ~100 s by
    default): once the visibility timeout has passed, tasks never acknowledged go back to
    their queue. Done here at once so the test need not wait for the sweep. RabbitMQ needs
    none of it: it requeues a dead consumer's unacknowledged tasks as its connection drops."""
    if settings.BROKER_IS_RABBITMQ:
        return
    time.sleep(visibility_timeout + 1)
    with Connection(settings.CELERY_BROKER_URL, transport_options={"visibility_timeout": visibility_timeout}) as conn:
        conn.default_channel.qos.restore_visible(num=100, interval=1)


def all_decided(rows):
    return lambda: all(status in DECIDED for status in statuses(rows).elements())


def race_eight(make_message):
    """Eight messages to one customer, their pipelines all started at once."""
    rows = [make_message(created=timezone.now()) for _ in range(8)]
    for row in rows:
        pipeline.start([row.pk])
    return rows


def test_eight_tasks_racing_on_one_customer_send_one_message(sandbox, make_message, worker_processes):
    worker_processes(concurrency=8)
    rows = race_eight(make_message)

    wait_until(all_decided(rows), timeout=60, what="all eight messages to be decided")
    assert statuses(rows) == {"sent": 1, "deferred": 7}  # the cooldown
    assert len(sandbox.sent(CHAT)) == 1


def test_eight_tasks_racing_without_a_cooldown_stop_at_the_cap(sandbox, policy_shop, make_message, worker_processes):
    policy_shop.cooldown_hours = 0
    policy_shop.save()
    worker_processes(concurrency=8)
    rows = race_eight(make_message)

    wait_until(all_decided(rows), timeout=60, what="all eight messages to be decided")
    assert statuses(rows) == {"sent": 3, "blocked": 5}
    assert set(OutboundMessage.objects.filter(status="blocked").values_list("reason", flat=True)) == {"cap"}
    assert len(sandbox.sent(CHAT)) == 3


def test_the_cap_holds_while_redis_keeps_losing_its_keys(sandbox, policy_shop, make_message, worker_processes):
    policy_shop.cooldown_hours = 0
    policy_shop.save()
    worker_processes(concurrency=8)
    rows = race_eight(make_message)
    flushes = 0
    while not all_decided(rows)():
        flushes += forget_redis_keys() > 0  # only our own keys, again and again, mid-run

    wait_until(all_decided(rows), timeout=60, what="all eight messages to be decided")
    result = statuses(rows)
    # Rebuilt from the outbox each time; a rebuild may count a reservation in flight, so
    # it errs towards sending less, never more.
    assert 1 <= result["sent"] <= 3 and result["sent"] + result["blocked"] == 8, result
    assert len(sandbox.sent(CHAT)) == result["sent"]
    assert flushes > 0


def test_a_worker_killed_between_sending_and_wahas_answer_does_not_send_twice(sandbox, make_message, worker_processes):
    message = make_message(status=OutboundMessage.Status.GENERATED, text="Спасибо за заказ, Айгерим!")
    sandbox.control("waha/faults", delay_seconds=30)  # WhatsApp has the message; the answer is late
    first = worker_processes(concurrency=1, visibility_timeout=5)
    send_whatsapp.delay(message.pk)
    wait_until(lambda: sandbox.sent(CHAT), what="the send to reach WAHA")
    message.refresh_from_db()
    assert message.status == "sending"

    first.kill()
    sandbox.control("waha/faults", delay_seconds=0)
    worker_processes(concurrency=1, visibility_timeout=5)
    redeliver_unacknowledged(visibility_timeout=5)

    wait_until(lambda: OutboundMessage.objects.get(pk=message.pk).status == "unknown", timeout=60,
               what="the redelivered task to mark the row unknown")
    assert [m["text"] for m in sandbox.sent(CHAT)] == ["Спасибо за заказ, Айгерим!"]
    assert list(message.events.values_list("status", flat=True)) == ["sending", "unknown"]
    assert message.events.last().note == "found sending on redelivery"


def test_more_workers_never_raise_the_pace_whatsapp_sees(sandbox, make_message, worker_processes, settings):
    settings.WAHA_SEND_INTERVAL_SECONDS = 1  # each send then waits 1 to 1.5 s after the one before
    worker_processes(concurrency=4)
    worker_processes(concurrency=4)
    phones = ["+77011234567", "+77021234567", "+77051234567", "+77071234567"]
    rows = [make_message(phone=phone, status=OutboundMessage.Status.GENERATED, text="Спасибо!") for phone in phones]

    for row in rows:
        send_whatsapp.delay(row.pk)

    wait_until(lambda: statuses(rows) == {"sent": 4}, timeout=60, what="all four sends")
    times = sorted(message["timestamp"] for message in sandbox.sent())
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert len(times) == 4 and min(gaps) >= 0.9, gaps  # one shared limiter for all eight processes
