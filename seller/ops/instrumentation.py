"""Celery signals around every task: the ids its log lines carry, and how long it took.

Durations go to Redis (a cumulative histogram per task), so that `/metrics` on any web
process sees the tasks of every worker on every machine.
"""

import inspect
import logging
import time

from celery.signals import task_postrun, task_prerun

from config import redis
from config.logging import pipeline_ids

log = logging.getLogger(__name__)
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
DURATIONS_KEY = "task-durations"
STATES_KEY = "task-states"
started: dict[str, float] = {}


def ids_for(task, args, kwargs) -> dict:
    """The outbox or shop a task works on, from its `message_id` or `shop_id` argument. No query:
    a step adds the row's shop and order once it has loaded the row (`config.logging.tag_row`)."""
    try:
        arguments = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {})).arguments
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


def record_duration(task_name: str, seconds: float, state: str):
    pipe = redis.client().pipeline(transaction=False)
    key = redis.key(DURATIONS_KEY, task_name)
    for bound in BUCKETS:
        if seconds <= bound:
            pipe.hincrby(key, str(bound), 1)
    pipe.hincrby(key, "+Inf", 1)
    pipe.hincrbyfloat(key, "sum", seconds)
    pipe.hincrby(redis.key(STATES_KEY), f"{task_name}|{state}", 1)
    pipe.execute()


def durations() -> dict[str, dict[str, float]]:
    """{task name: {bucket or "sum": value}} as recorded by every worker."""
    client = redis.client()
    prefix = redis.key(DURATIONS_KEY, "")
    return {key[len(prefix):]: {k: float(v) for k, v in client.hgetall(key).items()} for key in client.scan_iter(prefix + "*")}


def task_states() -> dict[tuple[str, str], int]:
    return {tuple(field.split("|", 1)): int(n) for field, n in redis.client().hgetall(redis.key(STATES_KEY)).items()}
