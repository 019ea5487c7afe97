"""The fault suite: a few hundred orders in flight, real workers, the reconciler running, and one
thing broken at a time. Each ends, within SETTLE_TIMEOUT, with every row final or deferred, no
customer messaged twice (counted in what the sandbox's WAHA received) and the daily cap held.
`make faults` writes each fault's figures to bench/results/faults.json."""

import time

import pytest

from messaging.models import OutboundMessage

from .conftest import check, free_port, terminate_other_connections

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True), pytest.mark.timeout(420)]


def test_no_fault_the_baseline(make_rig):
    """The same run with nothing broken: what the others' settle times compare with."""
    rig = make_rig()
    rig.place_orders()
    rig.start_worker()
    rig.start_beat()
    rig.sync()

    check(rig.outcome("none", {}, rig.settle()))


def test_worker_children_and_the_whole_worker_killed_mid_send(make_rig, sandbox):
    rig = make_rig()
    rig.place_orders()
    sandbox.control("waha/faults", delay_seconds=0.5)  # sends in flight long enough to be killed in
    first = rig.start_worker()
    rig.start_beat()
    rig.sync()
    children_killed = 0
    for _ in range(4):
        rig.wait_for_progress(0.1 * (children_killed + 1))
        while not rig.statuses()["sending"]:
            time.sleep(0.05)
        first.kill_child(first.children()[0])
        children_killed += 1
    rig.wait_for_progress(0.5)
    while not rig.statuses()["sending"]:
        time.sleep(0.05)
    first.kill()  # the whole worker, its pool with it: the machine died
    sandbox.control("waha/faults", delay_seconds=0)

    # Its supervisor starts a fresh one (as docker-compose and Kubernetes do).
    outcome = rig.outcome("worker_killed", {"children_killed": children_killed, "workers_killed": 1},
                          rig.settle(supervised=True))
    check(outcome)
    assert outcome["worker_restarts"] == 1


def test_redis_restarted_empty_mid_run(make_rig, own_redis, sandbox):
    rig = make_rig(redis_url=own_redis.url)  # broker and cache of this test only
    rig.place_orders()
    rig.start_worker()
    rig.start_beat()
    rig.sync()
    sandbox.control("waha/faults", delay_seconds=0.5)  # every pool process busy with a send when Redis goes
    rig.wait_for_progress(0.2)
    while rig.statuses()["sending"] < 3:
        time.sleep(0.05)
    own_redis.kill()  # queued tasks, caps, cooldowns, pace: all gone
    time.sleep(1)
    own_redis.start()
    sandbox.control("waha/faults", delay_seconds=0)

    # Celery 5.7's consumer sometimes dies of the lost connection instead of reconnecting ("Unrecoverable
    # error: AttributeError ... 'hostname'", while it closes the broken connection): the worker exits,
    # and its supervisor starts it again. The outcome counts such restarts (`worker_restarts`).
    check(rig.outcome("redis_restarted", {"redis_restarts": 1}, rig.settle(supervised=True)))


def test_publishes_failing_after_the_sync_committed(make_rig):
    rig = make_rig()
    shop = rig.place_orders()
    rig.start_worker()
    rig.start_beat()

    synced = rig.sync_in_process(broker_url=f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there

    assert synced.returncode == 0, synced.stderr[-3000:]  # committed work is not an error
    shop.refresh_from_db()
    assert shop.sync_watermark is not None and shop.last_sync_error == ""
    failed = (synced.stdout + synced.stderr).count("could not publish")
    assert failed >= 1
    check(rig.outcome("publish_failed", {"publishes_failed": failed}, rig.settle()))


def test_waha_dropping_the_connection_after_reading_the_request(make_rig, sandbox):
    rig = make_rig()
    rig.place_orders()
    sandbox.control("waha/faults", drop_rate=0.3)
    rig.start_worker()
    rig.start_beat()
    rig.sync()

    settle_seconds = rig.settle()

    injected = sandbox.control("waha/faults", drop_rate=0)["injected"]
    assert injected["drop"] > 0
    check(rig.outcome("waha_drops", injected, settle_seconds))


def test_waha_failing_30_percent_of_requests_with_5xx(make_rig, sandbox):
    rig = make_rig()
    rig.place_orders()
    sandbox.control("waha/faults", flaky_rate=0.3)
    rig.start_worker()
    rig.start_beat()
    rig.sync()

    settle_seconds = rig.settle()

    injected = sandbox.control("waha/faults", flaky_rate=0)["injected"]
    assert sum(injected.values()) > 0
    check(rig.outcome("waha_5xx", injected, settle_seconds))


@pytest.mark.parametrize("how", ["down", "hanging"])
def test_openai_down_or_hanging(make_rig, sandbox, how):
    rig = make_rig()
    rig.place_orders()
    if how == "down":
        rig.start_worker(OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1")  # connection refused
    else:
        sandbox.control("openai/mode", mode="timeout")  # answers after 30 s; the client waits 0.5 s
        rig.start_worker(OPENAI_TIMEOUT="0.5")
    rig.start_beat()
    rig.sync()

    settle_seconds = rig.settle()

    requests_made = len(sandbox.get("openai/requests"))
    outcome = rig.outcome(f"openai_{how}", {"openai_requests_failed": requests_made if how == "hanging" else "all"},
                          settle_seconds)
    check(outcome)
    sources = set(OutboundMessage.objects.filter(status="sent").values_list("source", flat=True))
    assert sources == {"fallback"}  # the built-in template, not silence


def test_database_connections_killed_in_every_step(make_rig, sandbox):
    rig = make_rig()
    rig.place_orders()
    rig.start_worker()
    rig.start_beat()
    rig.sync()
    killed, rounds = 0, 0
    while rig.progress() < 0.8 * rig.orders and rounds < 60:
        time.sleep(1)
        killed += terminate_other_connections()
        rounds += 1

    check(rig.outcome("db_connections_killed", {"connections_terminated": killed, "rounds": rounds}, rig.settle()))
