"""One send at a time per WAHA session, shared by every worker on every machine, so adding
workers never raises the pace WhatsApp sees.

A sender reserves a turn: turn = max(now, the session's next free moment), and the next free
moment moves to turn + interval + jitter (up to half the interval: WhatsApp bans robotic
patterns). One Lua script on Redis's clock (TIME), so the workers' clocks never matter. A turn
a few seconds away is held and slept for in the worker, so it is taken on time; one further
away is not held (the task asks again shortly before it: a retry through the broker arrives a
tenth of a second late or so, and a thread need not wait half a minute).

`with turn.request():` wraps the request. Right before it, it checks once more, also in Redis,
that the previous request's gap is over and that the previous request was answered, and records
when the next may start: a sender late for its turn (a slow claim, the typing indicator) never
crowds the next one. Once answered, the next may start no sooner than the interval after the
answer: WhatsApp had the request by then, however long it took to leave (a worker descheduled
between the record and the request), so no two arrive closer than the interval. A request never
answered (the worker died) holds the next one back for WAHA_TIMEOUT at most. A turn held but not
used (the policy stopped the message) only leaves a longer gap. Redis that forgot a session (a
restart, a flush) asks `last_sent` when the session last sent, from the database, and counts from
there."""

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

from config import redis

log = logging.getLogger(__name__)

# A turn at most this far away is held and slept for in the worker; a further one is asked again.
HOLD_SECONDS = 5.0
# Every gap is at least the interval plus this: the request reaches WAHA a moment after its start
# is recorded, and that moment varies from sender to sender (by 20 ms on a loaded machine).
MARGIN_MS = 50
FORGOTTEN = -1  # the reserve script's answer when Redis has no record of the session

# KEYS[1]: the session's hash. ARGV: this turn's gap, the longest wait to hold (ms), and how far
# from now the next free moment is if Redis has forgotten it (ms; FORGOTTEN: not known yet).
# Returns {ms until the turn, 1 if held}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free = tonumber(redis.call('HGET', KEYS[1], 'free'))
if not free then
  if tonumber(ARGV[3]) < 0 then return {-1, 0} end
  free = now + tonumber(ARGV[3])
end
local turn = math.max(now, free)
if turn - now > tonumber(ARGV[2]) then return {turn - now, 0} end
redis.call('HSET', KEYS[1], 'free', turn + tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[1], turn + tonumber(ARGV[1]) - now + 86400000)
return {turn - now, 1}
"""

# Right before a request: ms to wait while the previous request's gap is not over, or while it is
# not answered (polled every ARGV[4] ms, up to its lease); else 0: the next request may start
# ARGV[1] ms from now, and this one, ARGV[3], is in flight for ARGV[2] ms at most.
_START = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local next = tonumber(redis.call('HGET', KEYS[1], 'next'))
if next and now < next then return next - now end
local busy = tonumber(redis.call('HGET', KEYS[1], 'busy_until'))
if busy and now < busy then return math.min(busy - now, tonumber(ARGV[4])) end
redis.call('HSET', KEYS[1], 'next', now + tonumber(ARGV[1]), 'busy_until', now + tonumber(ARGV[2]), 'busy', ARGV[3])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], 86400000) end
return 0
"""

# Once request ARGV[2] is answered (or failed): it is no longer in flight, and the next request
# starts ARGV[1] ms from now at the soonest.
_DONE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('HGET', KEYS[1], 'busy') == ARGV[2] then redis.call('HDEL', KEYS[1], 'busy', 'busy_until') end
local next = tonumber(redis.call('HGET', KEYS[1], 'next'))
if not next or next < now + tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'next', now + tonumber(ARGV[1])) end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], 86400000) end
return 0
"""
# How often a sender asks whether the previous request was answered.
ANSWERED_POLL_MS = 20


@dataclass
class Turn:
    """A sender's place in its session's queue. `retry_in` > 0: none held, ask again then.
    Otherwise make the request inside `with turn.request():`."""

    name: str
    gap_ms: int  # from this request's start to the next one's, at the least
    deadline: float  # time.monotonic() of the turn
    retry_in: float = 0.0

    @contextmanager
    def request(self) -> Iterator[None]:
        """Sleep until the turn, then until the previous request's gap is over and it was answered
        (its sender may have been late for its turn); record when the next request may start. On
        the way out, answered or not: the next starts the interval after this moment at the soonest."""
        if not self.gap_ms:
            yield
            return
        time.sleep(max(0.0, self.deadline - time.monotonic()))
        token, client = uuid.uuid4().hex, redis.client()
        # In flight for as long as the WAHA client waits for it, and a second more.
        lease_ms = int((settings.WAHA_TIMEOUT + 1) * 1000)
        start = client.register_script(_START)
        while wait_ms := start(keys=[self.name], args=[self.gap_ms, lease_ms, token, ANSWERED_POLL_MS]):
            time.sleep(int(wait_ms) / 1000)
        try:
            yield
        finally:
            floor_ms = int(settings.WAHA_SEND_INTERVAL_SECONDS * 1000)
            try:
                client.register_script(_DONE)(keys=[self.name], args=[floor_ms, token])
            except RedisError as exc:  # the request's outcome matters more: the gap recorded before it stands
                log.warning("send pace: the answer's moment not recorded (%s)", exc)


def take_turn(session: str, last_sent: Callable[[], datetime | None] = lambda: None) -> Turn:
    """This sender's turn on `session`. `last_sent` tells when the session last sent (from the
    database), asked only when Redis has no record of the session."""
    interval = settings.WAHA_SEND_INTERVAL_SECONDS
    if interval <= 0:
        return Turn("", 0, 0.0)
    name = redis.key("pace", session)
    # The request leaves a moment after its start is recorded: a margin keeps WAHA's gap too.
    gap_ms = max(int((interval + random.uniform(0, interval / 2)) * 1000), int(interval * 1000) + MARGIN_MS)
    reserve, hold_ms = redis.client().register_script(_RESERVE), int(HOLD_SECONDS * 1000)
    wait_ms, held = reserve(keys=[name], args=[gap_ms, hold_ms, FORGOTTEN])
    if wait_ms == FORGOTTEN:
        wait_ms, held = reserve(keys=[name], args=[gap_ms, hold_ms, _next_free_ms(last_sent(), interval)])
    if held:
        return Turn(name, gap_ms, time.monotonic() + wait_ms / 1000)
    # Back a little before the turn, to hold it then: a retry through the broker may be late.
    return Turn(name, 0, 0.0, retry_in=max(wait_ms / 1000 - HOLD_SECONDS / 2, 0.1))


def _next_free_ms(last: datetime | None, interval: float) -> int:
    """How far from now the next turn is, counted from the last send with the longest jitter
    (the one drawn is gone with Redis's memory). The timestamps are the workers' clocks: off by
    their drift, only this once."""
    if last is None:
        return 0
    return max(0, int((last.timestamp() + interval * 1.5 - timezone.now().timestamp()) * 1000))
