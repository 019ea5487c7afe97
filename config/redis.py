"""One Redis connection pool for caps, cooldowns, pace and locks. All our keys share a prefix."""

from functools import lru_cache

import redis
from django.conf import settings

PREFIX = "aiseller:"


@lru_cache(maxsize=1)
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5, decode_responses=True)


def key(*parts) -> str:
    return PREFIX + ":".join(str(part) for part in parts)
