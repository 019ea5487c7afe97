"""One send at a time per WAHA session, shared by every worker on every machine, so adding
workers never raises the pace WhatsApp sees."""

import random

from django.conf import settings

from config import redis


def seconds_to_wait(session: str) -> float:
    """0 when this caller may send now (its turn is taken), else how long until the next turn."""
    interval = settings.WAHA_SEND_INTERVAL_SECONDS
    if interval <= 0:
        return 0.0
    gap_ms = int((interval + random.uniform(0, interval / 2)) * 1000)
    name = redis.key("pace", session)
    if redis.client().set(name, "1", nx=True, px=gap_ms):
        return 0.0
    return max(redis.client().pttl(name), 100) / 1000
