"""The database drives the work: what a failed publish, a lost broker message or an error in a
step left behind is restarted by the reconciler from the row's status."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from config.celery_app import app
from kaspi_sync.models import Order
from messaging import outbox
from messaging.models import OutboundMessage, Trigger
from seller import pipeline, reconciler
from seller.ops import health
from tests.helpers import wait_until

Status = OutboundMessage.Status
LATER = timedelta(minutes=6)  # past SELLER_STUCK_MINUTES (5)


@pytest.fixture
def broker_down(monkeypatch):
    """Every publish fails, as with the broker unreachable after the commit."""
    def refuse(*args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")
    monkeypatch.setattr(app, "send_task", refuse)


def place_orders(shop, count: int) -> list[Order]:
    now = timezone.now()
    return [Order.objects.create(shop=shop, kaspi_id=f"k{i}", code=f"90{i}", created_at_kaspi=now,
                                 customer_phone=f"+7701123{i + 4501:04d}") for i in range(count)]


@pytest.mark.django_db(transaction=True)
def test_a_publish_that_fails_after_commit_is_not_an_error_and_the_rows_are_restarted(sandbox, policy_shop,
                                                                                    broker_down, monkeypatch,
                                                                                    celery_worker):
    orders = place_orders(policy_shop, 3)
    with transaction.atomic():
        created = outbox.create_messages([(order, Trigger.POST_PURCHASE) for order in orders])
    assert len(created) == 3  # the commit stood; nothing raised
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.PENDING}

    monkeypatch.undo()  # the broker is back
    assert reconciler.reconcile()[Status.PENDING] == 0  # not stuck yet: a publish may still be on its way
    assert reconciler.reconcile(now=timezone.now() + LATER)[Status.PENDING] == 3

    wait_until(lambda: OutboundMessage.objects.filter(status=Status.SENT).count() == 3,
               what=f"three sends, not {list(OutboundMessage.objects.values_list('status', 'reason'))}")
    assert len(sandbox.sent()) == 3


@pytest.mark.django_db(transaction=True)
def test_a_row_is_restarted_at_most_once_per_period(policy_shop, broker_down):
    place_orders(policy_shop, 1)
    outbox.create_messages([(Order.objects.get(), Trigger.POST_PURCHASE)])
    later = timezone.now() + LATER
    assert reconciler.reconcile(now=later)[Status.PENDING] == 1
    assert reconciler.reconcile(now=later + timedelta(minutes=1))[Status.PENDING] == 0


@pytest.mark.django_db(transaction=True)
def test_an_error_in_a_step_leaves_the_row_for_the_reconciler_not_stuck_for_ever(sandbox, policy_shop,
                                                                               monkeypatch, celery_worker):
    from messaging import limits

    def redis_down(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(limits, "reserve", redis_down)
    outbox.create_messages([(place_orders(policy_shop, 1)[0], Trigger.POST_PURCHASE)])
    pipeline.check(OutboundMessage.objects.get().pk)  # logged; the batch's other rows would go on
    row = OutboundMessage.objects.get()
    assert (row.status, row.reserved_at) == (Status.PENDING, None)  # no place held by a stuck row

    monkeypatch.undo()
    reconciler.reconcile(now=timezone.now() + LATER)
    wait_until(lambda: OutboundMessage.objects.filter(status=Status.SENT).exists(), what="the send")


@pytest.mark.django_db(transaction=True)
def test_the_status_shows_how_many_rows_wait_and_for_how_long(policy_shop, broker_down):
    outbox.create_messages([(order, Trigger.POST_PURCHASE) for order in place_orders(policy_shop, 2)])
    OutboundMessage.objects.update(updated_at=timezone.now() - timedelta(minutes=7))

    waiting = {row["status"]: row for row in health.backlog()}

    assert waiting["pending"]["rows"] == 2 and 7 * 60 <= waiting["pending"]["oldest_age_seconds"] < 8 * 60
    assert waiting["sending"] == {"status": "sending", "rows": 0, "oldest_age_seconds": 0}


def test_generation_ends_within_its_deadline_even_when_the_model_hangs(db, sandbox, settings, policy_shop):
    from seller import writer

    settings.OPENAI_TIMEOUT, settings.OPENAI_MAX_RETRIES = 60, 0  # the SDK alone would wait a minute
    settings.GENERATION_DEADLINE_SECONDS = 1
    sandbox.control("openai/mode", mode="timeout")
    outbox.create_messages([(place_orders(policy_shop, 1)[0], Trigger.POST_PURCHASE)])
    OutboundMessage.objects.update(status=Status.APPROVED)

    assert writer.write_message(OutboundMessage.objects.get().pk)

    row = OutboundMessage.objects.get()
    assert (row.status, row.source, row.fallback_reason) == (Status.GENERATED, "fallback", "timeout")
    assert row.generation_ms < 5000


@pytest.mark.django_db(transaction=True)
def test_a_row_waiting_for_its_own_retry_is_left_to_it(sandbox, policy_shop, settings):
    """A send waiting for its pace turn or its backoff says when it will try again; the
    reconciler starts no second retry loop beside it, only one once that time is long past."""
    from seller import sending

    settings.WAHA_SEND_INTERVAL_SECONDS = 600
    outbox.create_messages([(order, Trigger.POST_PURCHASE) for order in place_orders(policy_shop, 2)])
    OutboundMessage.objects.update(status=Status.GENERATED, text="Спасибо!")
    sent, waiting = OutboundMessage.objects.order_by("pk")
    sending.send_message(sent.pk)  # takes the pace turn and sends
    with pytest.raises(sending.SendLater):
        sending.send_message(waiting.pk)  # the next turn is ten to fifteen minutes away

    soon = timezone.now() + LATER
    assert reconciler.reconcile(now=soon)[Status.GENERATED] == 0
    assert reconciler.reconcile(now=soon + timedelta(minutes=20))[Status.GENERATED] == 1
