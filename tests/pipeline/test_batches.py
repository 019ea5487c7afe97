"""Eligibility in batches: one task checks many pending rows, with the same guarantees as one
row a task. Each row is locked, reserved and moved alone, so rows of one customer in one batch
see each other's place; an opt-out recorded while a batch runs still stops its rows; a row whose
check fails, or a worker killed mid-batch, leaves the other rows to go on or to the reconciler."""

import threading
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from kaspi_sync.models import Order, Shop
from messaging import limits
from messaging.models import OptOut, OutboundMessage, Trigger
from seller import eligibility, reconciler, tasks
from tests.helpers import wait_until
from tests.messaging.workers import WorkerProcess, database_url

from tests.policy.conftest import forget_redis_keys

Status = OutboundMessage.Status
LATER = timedelta(minutes=6)  # past SELLER_STUCK_MINUTES (5)


def statuses(messages) -> list[tuple[str, str]]:
    return [tuple(OutboundMessage.objects.filter(pk=m.pk).values_list("status", "reason").get()) for m in messages]


@contextmanager
def customer_held(shop: Shop, phone: str):
    """Another session holds this customer's lock (as a check of another worker would): a batch
    that reaches the customer's row waits there, mid-batch, until the block ends."""
    with psycopg.connect(database_url(), autocommit=True) as other:
        key = limits.customer_lock_key(shop.session_name, phone)
        other.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            other.execute("SELECT pg_advisory_unlock(%s)", [key])


def waiting_for_a_customer() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0] > 0


def check_in_a_thread(ids: list[int], result: list) -> threading.Thread:
    def run():
        try:
            result.extend(eligibility.check_messages(ids))
        finally:
            connection.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


class TestOneCustomerTwiceInABatch:
    def test_the_cooldown_defers_the_second(self, make_message):
        first, second = make_message(), make_message()
        assert eligibility.check_messages([first.pk, second.pk]) == [first.pk]
        assert statuses([first, second]) == [(Status.APPROVED, ""), (Status.DEFERRED, "")]
        assert second.events.last().note == "cooldown"

    def test_the_cap_blocks_the_second_even_after_redis_lost_the_keys(self, policy_shop, make_message):
        policy_shop.cooldown_hours, policy_shop.max_messages = 0, 2
        policy_shop.save()
        earlier, first, second = make_message(), make_message(), make_message()
        assert eligibility.check_messages([earlier.pk]) == [earlier.pk]
        forget_redis_keys()  # the batch rebuilds the customer from the outbox, then counts its own rows

        assert eligibility.check_messages([first.pk, second.pk]) == [first.pk]
        assert statuses([first, second]) == [(Status.APPROVED, ""), (Status.BLOCKED, "cap")]

    def test_the_shops_daily_cap_holds_within_a_batch(self, policy_shop, make_message):
        policy_shop.max_daily_messages = 2
        policy_shop.save()
        rows = [make_message(phone=f"+7701123450{i}") for i in range(4)]
        assert eligibility.check_messages([row.pk for row in rows]) == [rows[0].pk, rows[1].pk]
        assert [status for status, _ in statuses(rows)] == [Status.APPROVED] * 2 + [Status.DEFERRED] * 2


def test_a_row_whose_check_fails_stays_pending_and_the_rest_of_its_batch_goes_on(policy_shop, make_message):
    broken = Shop.objects.create(name="Broken zone", kaspi_token="kaspi-policy-token-02")
    Shop.objects.filter(pk=broken.pk).update(timezone="Nowhere/Atlantis")  # saved before validation existed
    good, bad = make_message(phone="+77011234501"), make_message(shop=broken)
    also_good = make_message(phone="+77011234503")

    assert eligibility.check_messages([good.pk, bad.pk, also_good.pk]) == [good.pk, also_good.pk]
    assert statuses([good, bad, also_good]) == [(Status.APPROVED, ""), (Status.PENDING, ""), (Status.APPROVED, "")]
    assert OutboundMessage.objects.get(pk=bad.pk).reserved_at is None  # no place held by a row left behind


def test_the_old_one_row_task_still_checks_its_row(make_message, broker_down_for_publishes):
    row = make_message()
    tasks.check_eligibility(row.pk)  # queued under this name before a deploy
    assert statuses([row]) == [(Status.APPROVED, "")]


@pytest.fixture
def broker_down_for_publishes(monkeypatch):
    from config.celery_app import app

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("the test publishes nothing")
    monkeypatch.setattr(app, "send_task", refuse)


@pytest.mark.django_db(transaction=True)
def test_an_opt_out_recorded_while_the_batch_runs_stops_its_row(policy_shop, make_message):
    held, later = make_message(phone="+77011234501"), make_message(phone="+77011234502")
    approved = []
    with customer_held(policy_shop, held.phone):
        thread = check_in_a_thread([held.pk, later.pk], approved)
        wait_until(waiting_for_a_customer, what="the batch to wait at its first row")
        # The batch read the opt-outs before this one was recorded.
        OptOut.objects.create(phone=later.phone, source=OptOut.Source.REPLY, keyword="стоп")
    thread.join(30)

    assert approved == [held.pk]
    assert statuses([held, later]) == [(Status.APPROVED, ""), (Status.BLOCKED, "opt_out")]
    assert OutboundMessage.objects.get(pk=later.pk).reserved_at is None  # its place given back


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_every_row_to_end_once(sandbox, policy_shop, tmp_path):
    now = timezone.now()
    orders = [Order.objects.create(shop=policy_shop, kaspi_id=f"b{i}", code=f"70{i}", created_at_kaspi=now,
                                   customer_phone=f"+7701123{i + 4501:04d}", customer_first_name="Айгерим")
              for i in range(6)]
    rows = [OutboundMessage.objects.create(shop=policy_shop, order=order, trigger=Trigger.POST_PURCHASE,
                                           phone=order.customer_phone) for order in orders]
    worker = WorkerProcess(tmp_path / "worker.log", concurrency=1)
    with customer_held(policy_shop, rows[3].phone):
        tasks.check_eligibility_batch.delay([row.pk for row in rows])
        wait_until(waiting_for_a_customer, what="the batch to wait at its fourth row")
        assert [status for status, _ in statuses(rows[:3])] == [Status.APPROVED] * 3
        worker.kill()  # mid-batch: three rows approved (their next step never published), three pending
    try:
        assert [status for status, _ in statuses(rows[3:])] == [Status.PENDING] * 3
        worker = WorkerProcess(tmp_path / "worker-2.log", concurrency=2)
        # (On RabbitMQ the killed worker's batch also comes back at once: the moves decide between the two.)
        reconciler.reconcile(now=timezone.now() + LATER)
        wait_until(lambda: OutboundMessage.objects.filter(status=Status.SENT).count() == 6, timeout=60,
                   what=f"six sends, not {Counter(OutboundMessage.objects.values_list('status', flat=True))}")
    finally:
        worker.stop()
    per_chat = Counter(message["chatId"] for message in sandbox.sent())
    assert len(per_chat) == 6 and set(per_chat.values()) == {1}  # every customer once



@pytest.mark.django_db(transaction=True)
def test_rows_due_together_after_quiet_hours_go_on_in_a_batch(sandbox, policy_shop, make_message, celery_worker):
    rows = [make_message(phone=f"+7701123450{i}", status=Status.DEFERRED) for i in range(3)]
    OutboundMessage.objects.filter(pk__in=[row.pk for row in rows]).update(not_before=timezone.now())

    tasks.enqueue_due_messages()

    wait_until(lambda: OutboundMessage.objects.filter(status=Status.SENT).count() == 3, timeout=60,
               what=f"three sends, not {Counter(OutboundMessage.objects.values_list('status', flat=True))}")
    assert len(sandbox.sent()) == 3
