"""One send at a time per WAHA session, shared by every worker on every machine, so adding
workers never raises the pace WhatsApp sees.

A sender reserves a turn: turn = max(now, the session's next free moment), and the next free
moment moves to turn + interval + jitter (up to half the interval: WhatsApp bans robotic
patterns). One Lua script on Redis's clock (TIME), so the workers' clocks never matter. A turn
a few seconds away is held and slept for in the worker, so it is taken on time; one further
away is not held (the task asks again shortly before it: a retry through the broker arrives a
tenth of a second late or so, and a thread need not wait half a minute).

Right before the request `Turn.go` checks once more, also in Redis, that the previous request's
gap is over, and records when the next may start: a sender late for its turn (a slow claim, the
typing indicator) never crowds the next one. A turn held but not used (the policy stopped the
message, the worker died) only leaves a longer gap. Redis that forgot a session (a restart, a
flush) asks `last_sent` when the session last sent, from the database, and counts from there."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from config import redis

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

# Right before a request: ms to wait while the previous request's gap is not over; else 0, and
# the next request may start ARGV[1] ms from now.
_START = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local next = tonumber(redis.call('HGET', KEYS[1], 'next'))
if next and now < next then return next - now end
redis.call('HSET', KEYS[1], 'next', now + tonumber(ARGV[1]))
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], 86400000) end
return 0
"""


@dataclass
class Turn:
    """A sender's place in its session's queue. `retry_in` > 0: none held, ask again then.
    Otherwise call `go()` right before the request."""

    name: str
    gap_ms: int  # from this request's start to the next one's, at the least
    deadline: float  # time.monotonic() of the turn
    retry_in: float = 0.0

    def go(self):
        """Sleep until the turn, then until the previous request's gap is over (its sender may
        have been late for its turn); record when the next request may start."""
        if not self.gap_ms:
            return
        time.sleep(max(0.0, self.deadline - time.monotonic()))
        start = redis.client().register_script(_START)
        while wait_ms := start(keys=[self.name], args=[self.gap_ms]):
            time.sleep(int(wait_ms) / 1000)


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
