"""The send pace of a WhatsApp number, as WAHA sees it: two messages of one session never closer
than WAHA_SEND_INTERVAL_SECONDS, however many worker processes race for turns, however late a
sender is for its turn, and after Redis forgot the session."""

import threading
import time
import uuid

import pytest

from config import redis
from messaging import pace
from messaging.models import OutboundMessage
from seller import sending
from seller.tasks import send_whatsapp
from tests.faults.conftest import RedisServer
from tests.helpers import wait_until
from tests.policy.conftest import forget_redis_keys

pytestmark = pytest.mark.django_db(transaction=True)
PHONES = [f"+7701{n:07d}" for n in range(1_000_001, 1_000_013)]


def gaps_seen_by_waha(sandbox) -> list[float]:
    times = sorted(message["timestamp"] for message in sandbox.sent())
    return [later - earlier for earlier, later in zip(times, times[1:])]


def send_all(make_message, count: int) -> list[OutboundMessage]:
    rows = [make_message(phone=phone, status=OutboundMessage.Status.GENERATED, text="Спасибо!")
            for phone in PHONES[:count]]
    for row in rows:
        send_whatsapp.delay(row.pk)
    return rows


def all_sent(rows):
    return lambda: OutboundMessage.objects.filter(pk__in=[r.pk for r in rows], status="sent").count() == len(rows)


def test_eight_worker_processes_never_send_closer_than_the_interval(sandbox, make_message, worker_processes, settings):
    settings.WAHA_SEND_INTERVAL_SECONDS = 0.4  # each gap 0.4 to 0.6 s
    worker_processes(concurrency=4)
    worker_processes(concurrency=4)
    rows = send_all(make_message, 12)

    wait_until(all_sent(rows), timeout=60, what="all twelve sends")
    gaps = gaps_seen_by_waha(sandbox)
    assert len(gaps) == 11 and min(gaps) >= 0.4, gaps  # how close to 0.5 s on average: bench/pipeline.py --pace


def test_a_sender_late_for_its_turn_does_not_crowd_the_next_one(sandbox, make_message, worker_processes, settings):
    """"Seen" and "typing" (WAHA_HUMAN_PACING) last 1.6 to 2.5 s after the turn is taken, a
    different time for each message: the request still leaves at least the interval after the
    one before."""
    settings.WAHA_SEND_INTERVAL_SECONDS = 1
    worker_processes(concurrency=3, env={"WAHA_HUMAN_PACING": "true"})
    rows = send_all(make_message, 6)

    wait_until(all_sent(rows), timeout=60, what="all six sends")
    gaps = gaps_seen_by_waha(sandbox)
    assert len(gaps) == 5 and min(gaps) >= 1, gaps


def test_a_request_slow_to_leave_does_not_crowd_the_next_one(settings):
    """A sender descheduled between recording its start and its request reaching WAHA (a loaded
    machine: seen here as a gap of 0.29 s for an interval of 0.4 s, in a full test run): the next
    request still reaches WAHA at least the interval after it, since it starts only the interval
    after the first one's answer."""
    settings.WAHA_SEND_INTERVAL_SECONDS = 0.4
    session, reached = f"stall-{uuid.uuid4().hex[:8]}", {}
    first, second = pace.take_turn(session), pace.take_turn(session)

    def send(name: str, turn: pace.Turn, on_the_way: float):
        with turn.request():
            time.sleep(on_the_way)  # the request still on its way: longer than the whole gap
            reached[name] = time.monotonic()  # WAHA has it
            time.sleep(0.05)  # the answer on its way back

    threads = [threading.Thread(target=send, args=("first", first, 0.7)),
               threading.Thread(target=send, args=("second", second, 0.0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert reached["second"] - reached["first"] >= 0.4, reached


def test_a_request_never_answered_holds_the_next_one_back_for_the_waha_timeout_at_most(settings):
    """The first sender died with its request in flight: the next waits for its lease, no longer."""
    settings.WAHA_SEND_INTERVAL_SECONDS, settings.WAHA_TIMEOUT = 0.1, 0.5
    session = f"dead-{uuid.uuid4().hex[:8]}"
    dead, alive = pace.take_turn(session), pace.take_turn(session)
    request = dead.request()
    request.__enter__()  # and never left: the worker was killed
    started = time.monotonic()
    with alive.request():
        waited = time.monotonic() - started
    assert 1.0 <= waited < 2.5, waited  # the lease: WAHA_TIMEOUT and a second


def test_redis_gone_while_the_request_was_in_flight_does_not_fail_the_send(settings, tmp_path, caplog):
    """Redis dies (kill -9) after the turn was taken: the request's outcome stands, the answer's
    moment is only not recorded (a warning), and the gap recorded before the request still holds."""
    server = RedisServer(tmp_path / "redis.log")
    settings.REDIS_URL, settings.WAHA_SEND_INTERVAL_SECONDS = server.url, 0.1
    redis.client.cache_clear()
    try:
        turn = pace.take_turn("default")
        with turn.request():
            server.kill()
            answered = "sent"
    finally:
        server.kill()
        redis.client.cache_clear()
    assert answered == "sent"
    assert "send pace: the answer's moment not recorded" in caplog.text


def test_after_redis_forgot_the_session_the_next_send_still_waits_its_turn(sandbox, make_message, settings):
    """A Redis restart or flush loses the session's pace: the last send is read from the database."""
    settings.WAHA_SEND_INTERVAL_SECONDS = 1
    first, second = make_message(phone=PHONES[0], status="generated", text="Спасибо!"), \
        make_message(phone=PHONES[1], status="generated", text="Спасибо!")
    sending.send_message(first.pk)
    assert forget_redis_keys("pace:*") == 1

    sending.send_message(second.pk)  # its turn is within the hold: slept for, then sent

    assert OutboundMessage.objects.get(pk=second.pk).status == "sent"
    assert gaps_seen_by_waha(sandbox)[0] >= 1


def test_a_turn_further_away_than_the_hold_is_not_kept_from_others(sandbox, make_message, settings):
    """A send whose turn is far off retries shortly before it; it holds no turn meanwhile, so the
    turn after the current one is still free for whoever asks first."""
    settings.WAHA_SEND_INTERVAL_SECONDS = 30
    assert pace.take_turn("default").retry_in == 0
    waiting = pace.take_turn("default")
    assert 30 - pace.HOLD_SECONDS / 2 - 0.5 < waiting.retry_in <= 45 - pace.HOLD_SECONDS / 2

    again = pace.take_turn("default")  # not behind `waiting`: it held nothing
    assert abs(again.retry_in - waiting.retry_in) < 1


def test_the_pace_off_sends_at_once(settings):
    settings.WAHA_SEND_INTERVAL_SECONDS = 0
    turns = [pace.take_turn("default") for _ in range(3)]
    started = time.monotonic()
    for turn in turns:
        assert turn.retry_in == 0
        with turn.request():
            pass
    assert time.monotonic() - started < 0.1
