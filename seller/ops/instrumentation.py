"""Celery signals around every task: the ids its log lines carry, and how long it took.

Durations go to Redis (a cumulative histogram per task), so that `/metrics` on any web
process sees the tasks of every worker on every machine. Each process adds them up and a thread
of its own writes them at most once a second (FLUSH_SECONDS): one Redis round trip a second,
not one a task (a task hop's own cost is a few milliseconds of CPU; this was a tenth of it).
"""

import atexit
import functools
import inspect
import logging
import os
import threading
import time
from collections import Counter

from celery.signals import task_postrun, task_prerun, worker_process_shutdown, worker_shutdown

from config import redis
from config.logging import pipeline_ids

log = logging.getLogger(__name__)
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
DURATIONS_KEY = "task-durations"
STATES_KEY = "task-states"
FLUSH_SECONDS = 1.0
started: dict[str, float] = {}


@functools.lru_cache(maxsize=None)
def signature_of(run) -> inspect.Signature:
    return inspect.signature(run)


def ids_for(task, args, kwargs) -> dict:
    """The outbox or shop a task works on, from its `message_id` or `shop_id` argument. No query:
    a step adds the row's shop and order once it has loaded the row (`config.logging.tag_row`)."""
    try:
        arguments = signature_of(task.run).bind_partial(*(args or ()), **(kwargs or {})).arguments
    except (TypeError, ValueError):
        return {}
    if arguments.get("message_id") is not None:
        return {"outbox_id": arguments["message_id"]}
    if arguments.get("shop_id") is not None:
        return {"shop_id": arguments["shop_id"]}
    return {}


@task_prerun.connect(dispatch_uid="aiseller-task-prerun")
def before_task(task_id=None, task=None, args=None, kwargs=None, **_):
    started[task_id] = time.monotonic()
    pipeline_ids.set(ids_for(task, args, kwargs))


@task_postrun.connect(dispatch_uid="aiseller-task-postrun")
def after_task(task_id=None, task=None, state=None, **_):
    pipeline_ids.set({})
    begun = started.pop(task_id, None)
    if begun is None or task is None:
        return
    record_duration(task.name, time.monotonic() - begun, state or "UNKNOWN")


class Pending:
    """This process's durations not yet written to Redis, and the thread that writes them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, Counter] = {}  # task name -> {bucket: n}
        self.sums: Counter = Counter()  # task name -> seconds
        self.states: Counter = Counter()  # "task|state" -> n
        self.pid = None  # the process whose thread runs (a forked child starts its own)

    def add(self, task_name: str, seconds: float, state: str):
        with self.lock:
            counts = self.counts.setdefault(task_name, Counter())
            for bound in BUCKETS:
                if seconds <= bound:
                    counts[str(bound)] += 1
            counts["+Inf"] += 1
            self.sums[task_name] += seconds
            self.states[f"{task_name}|{state}"] += 1
            if self.pid != os.getpid():
                self.pid = os.getpid()
                threading.Thread(target=self.run, name="task-durations", daemon=True).start()

    def run(self):
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def flush(self):
        with self.lock:
            counts, sums, states = self.counts, self.sums, self.states
            self.counts, self.sums, self.states = {}, Counter(), Counter()
        if not states:
            return
        try:
            pipe = redis.client().pipeline(transaction=False)
            for task_name, buckets in counts.items():
                key = redis.key(DURATIONS_KEY, task_name)
                for bucket, n in buckets.items():
                    pipe.hincrby(key, bucket, n)
                pipe.hincrbyfloat(key, "sum", sums[task_name])
            for field, n in states.items():
                pipe.hincrby(redis.key(STATES_KEY), field, n)
            pipe.execute()
        except Exception as exc:  # Redis away: these figures are lost, the tasks are not
            log.warning("task durations not recorded: %s", exc)


pending = Pending()
atexit.register(pending.flush)  # a process stopping writes what it holds


@worker_process_shutdown.connect(dispatch_uid="aiseller-task-durations-child")
@worker_shutdown.connect(dispatch_uid="aiseller-task-durations")
def write_pending_durations(**_):
    """A pool's child ends without atexit: it writes what it holds here."""
    pending.flush()


def record_duration(task_name: str, seconds: float, state: str):
    pending.add(task_name, seconds, state)


def durations() -> dict[str, dict[str, float]]:
    """{task name: {bucket or "sum": value}} as recorded by every worker."""
    client = redis.client()
    prefix = redis.key(DURATIONS_KEY, "")
    return {key[len(prefix):]: {k: float(v) for k, v in client.hgetall(key).items()} for key in client.scan_iter(prefix + "*")}


def task_states() -> dict[tuple[str, str], int]:
    return {tuple(field.split("|", 1)): int(n) for field, n in redis.client().hgetall(redis.key(STATES_KEY)).items()}
