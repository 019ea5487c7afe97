"""The cap and the cooldown, checked and reserved in one Redis Lua script, so many workers
racing on one customer never overshoot. A customer is what WhatsApp shows: the sending number
(the shop's WAHA session, which several shops may share) and the phone; the daily cap is the
shop's own.

Redis is a cache of the outbox: each reserved row carries `reserved_at` in the database.
When Redis has lost a key (restart, flush, expiry) the script says so, and the caller
rebuilds it from those rows before deciding. So that a rebuild sees every reservation of the
customer, `reserve` runs inside a transaction holding a per-customer lock (`lock_customer`)
that is released only once the row's `reserved_at` is committed.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from redis.exceptions import RedisError

from config import redis, sql

from .models import OutboundMessage

# KEYS: 1 the customer's reservations (zset id -> ms), 2 its "built" marker,
#       3 the shop's reservations of the day (zset), 4 its marker.
# ARGV: 1 message id, 2 now ms, 3 cap window ms, 4 max per customer, 5 cooldown ms,
#       6 max per shop per day, 7 customer ttl ms, 8 day ttl ms,
#       9 nc, 10 nd: how many (id, ms) pairs follow for the customer, then for the day
#       (-1: none given). Given pairs rebuild a part only if its marker is still missing.
RESERVE = """
local id, now = ARGV[1], tonumber(ARGV[2])
local nc, nd = tonumber(ARGV[9]), tonumber(ARGV[10])
local function load(zset, marker, first, n, ttl)
  if n >= 0 and redis.call('EXISTS', marker) == 0 then
    redis.call('DEL', zset)
    for i = first, first + 2 * n - 1, 2 do redis.call('ZADD', zset, ARGV[i + 1], ARGV[i]) end
    redis.call('SET', marker, '1', 'PX', ttl)
  end
end
load(KEYS[1], KEYS[2], 11, nc, ARGV[7])
load(KEYS[3], KEYS[4], 11 + 2 * math.max(nc, 0), nd, ARGV[8])
local customer_lost, day_lost = redis.call('EXISTS', KEYS[2]) == 0, redis.call('EXISTS', KEYS[4]) == 0
if customer_lost or day_lost then
  return {'rebuild', customer_lost and '1' or '0', day_lost and '1' or '0'}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))
if redis.call('ZSCORE', KEYS[1], id) then
  return {'ok'}  -- reserved by an earlier run of this same check
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return {'cap'}
end
local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if last[2] and tonumber(ARGV[5]) > 0 and now - tonumber(last[2]) < tonumber(ARGV[5]) then
  return {'cooldown', tostring(tonumber(last[2]) + tonumber(ARGV[5]))}
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[6]) then
  return {'daily'}
end
redis.call('ZADD', KEYS[1], now, id)
redis.call('ZADD', KEYS[3], now, id)
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], i <= 2 and ARGV[7] or ARGV[8]) end
return {'ok'}
"""

RELEASE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Outcome:
    """`ok`, `cap`, `cooldown` (then `until`) or `daily` (then `until`: the shop's next day)."""

    result: str
    until: datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.result == "ok"


def customer_keys(session: str, phone: str) -> tuple[str, str]:
    name = redis.key("limits", "customer", session, phone.lstrip("+"))
    return name, name + ":built"


def day_keys(shop_id: int, day: str) -> tuple[str, str]:
    name = redis.key("limits", "day", shop_id, day)
    return name, name + ":built"


def local_day(shop, moment: datetime) -> datetime:
    """Midnight of `moment`'s day in the shop's time zone."""
    local = moment.astimezone(ZoneInfo(shop.tz_name))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def lock_customer(session: str, phone: str):
    """Within a transaction: one check at a time per customer (sending number + phone; a
    PostgreSQL advisory lock). SQLite, for a local try, runs one write transaction at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [customer_lock_key(session, phone)])


def customer_lock_key(session: str, phone: str) -> int:
    digest = hashlib.blake2b(f"{session}:{phone}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def reserve(message: OutboundMessage, now: datetime) -> Outcome:
    """Take a place for this row under the customer's cap and cooldown and the shop's daily
    cap, or say why not. Call it holding `lock_customer`, and commit `reserved_at` after it."""
    shop = message.shop
    window = timedelta(days=shop.setting("cap_window_days"))
    day = local_day(shop, now)
    keys = [*customer_keys(shop.session_name, message.phone), *day_keys(shop.pk, day.strftime("%Y%m%d"))]
    args = [
        message.pk, ms(now), int(window.total_seconds() * 1000), shop.setting("max_messages"),
        int(shop.setting("cooldown_hours") * 3600 * 1000), shop.setting("max_daily_messages"),
        int(window.total_seconds() * 1000) + 3_600_000, 2 * 86_400_000,
    ]
    script = redis.client().register_script(RESERVE)
    answer = script(keys=keys, args=[*args, -1, -1])
    for _ in range(3):  # a flush between two calls asks again
        if answer[0] != "rebuild":
            break
        data = rebuild_data(message, now, window, day, customer=answer[1] == "1", today=answer[2] == "1")
        answer = script(keys=keys, args=[*args, *data])
    else:
        raise RedisError("the cap and cooldown keys keep vanishing from Redis")
    if answer[0] == "cooldown":
        return Outcome("cooldown", datetime.fromtimestamp(int(answer[1]) / 1000, tz=timezone.utc))
    if answer[0] == "daily":
        return Outcome("daily", day + timedelta(days=1))
    return Outcome(answer[0])


def rebuild_data(message: OutboundMessage, now: datetime, window: timedelta, day: datetime, customer: bool,
                 today: bool) -> list:
    """The outbox's reservations of the lost parts, as the script's arguments (the row itself
    left out): counts first, then (id, ms) pairs."""
    others = OutboundMessage.objects.filter(reserved_at__isnull=False).exclude(pk=message.pk)
    parts = [
        customer_reservations(message, now - window) if customer else None,
        list(others.filter(shop_id=message.shop_id, reserved_at__gte=day, reserved_at__lt=day + timedelta(days=1))
             .values_list("pk", "reserved_at")) if today else None,
    ]
    rows = [part or [] for part in parts]
    counts = [len(part) if part is not None else -1 for part in parts]
    return counts + [value for pk, at in rows[0] + rows[1] for value in (pk, ms(at))]


def customer_reservations(message: OutboundMessage, since: datetime) -> list[tuple[int, datetime]]:
    """(id, reserved_at) of the other rows holding a place with this customer since `since`: the
    same phone, sent through the same WAHA session (`session_state.sent_through`). Rebuilt for
    each new customer a batch checks: plain SQL (through the ORM this was about 30 % of the
    eligibility worker's CPU, mostly building the query)."""
    session, quote = message.shop.session_name, connection.ops.quote_name
    shop_table = OutboundMessage._meta.get_field("shop").related_model._meta.db_table  # kaspi_sync's: not imported here
    table, shops = quote(OutboundMessage._meta.db_table), quote(shop_table)
    same_session = "s.waha_session = %s" + (" OR s.waha_session = ''" if session == settings.WAHA_SESSION else "")
    field = OutboundMessage._meta.get_field("reserved_at")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT m.id, m.reserved_at FROM {table} m JOIN {shops} s ON s.id = m.shop_id "
                       f"WHERE m.phone = %s AND m.reserved_at >= %s AND m.id <> %s AND ({same_session})",
                       [message.phone, sql.to_db(field, since), message.pk, session])
        return [(pk, sql.from_db(field, at)) for pk, at in cursor.fetchall()]


def release(shop, phone: str, message_id: int, reserved_at: datetime):
    """Give a row's place back: it ended without reaching the customer."""
    day = local_day(shop, reserved_at).strftime("%Y%m%d")
    redis.client().register_script(RELEASE)(
        keys=[customer_keys(shop.session_name, phone)[0], day_keys(shop.pk, day)[0]], args=[message_id]
    )
