"""One shop's sync: what to read from Kaspi, and when the shop's watermark moves.

Kaspi filters orders only by creation date, yet orders change for weeks after they are
created. So a sync reads, in this order:

1. every tab, orders created since the watermark minus KASPI_SYNC_OVERLAP_MINUTES (or the
   last KASPI_SYNC_DAYS on a first sync, or `days` when asked): the new orders;
2. the active tabs only (not ARCHIVE), orders created in the KASPI_OPEN_ORDERS_DAYS before
   that: orders still under way, which are few;
3. by id, each of our open orders of those days that neither read showed: it has left the
   active tabs since the last sync, so it was completed, cancelled or returned.

The watermark moves to the sync's start only when every read succeeded. An order that cannot
be parsed, read whole or saved does not stop it: it is quarantined (see quarantine.py).
"""

import logging
import queue
import threading
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import chain

from django.conf import settings
from django.utils import timezone
from redis.exceptions import LockError

from config import redis

from . import quarantine
from .catalogue import Catalogue
from .client import (ACTIVE_STATES, PARSE_ERRORS, STATES, KaspiAuthError, KaspiClient, KaspiError, KaspiForbidden,
                     KaspiMalformedReply, KaspiNotFound, KaspiOrder, RejectedOrder, parse_order)
from .ingest import SyncSummary, count_sales, ingest_batch
from .models import Order, QuarantinedOrder, Shop

log = logging.getLogger(__name__)
LOCK_SECONDS = 10 * 60  # renewed at every batch; expires soon after a worker dies holding it
BATCH = 1000  # orders saved per transaction: ten pages, so far fewer round trips than page by page
# After a 403 that is not about the token (a firewall, a geo-block), the shop's syncs wait,
# twice as long after each one in a row, so a blocked server is not hammered.
FORBIDDEN_BACKOFF = timedelta(minutes=5)
FORBIDDEN_BACKOFF_MAX = timedelta(hours=6)

__all__ = ["SyncAlreadyRunning", "SyncSummary", "sync_shop"]


class SyncAlreadyRunning(Exception):
    pass


@contextmanager
def shop_lock(shop_id: int):
    """One sync of a shop at a time, across every worker and `sync_kaspi`. Yields a function
    that renews the lock, and stops the sync if the lock expired meanwhile."""
    lock = redis.client().lock(redis.key("sync-lock", shop_id), timeout=LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        raise SyncAlreadyRunning(f"shop {shop_id}: a sync is already running")

    def renew():
        try:
            lock.reacquire()
        except LockError as exc:
            raise SyncAlreadyRunning(f"shop {shop_id}: the sync lock expired; another sync may run") from exc

    try:
        yield renew
    finally:
        try:
            lock.release()
        except LockError:
            pass  # it expired; reacquire() has already stopped this sync


def sync_shop(shop: Shop, days: int | None = None, now: datetime | None = None, progress=None) -> SyncSummary:
    """Read the shop's orders from Kaspi and record what changed (see the module's doc).

    Safe to repeat: orders are upserted and triggers are unique per (order, trigger).
    `progress(done, more_expected)` is called after each batch. Any error that stops the sync
    is recorded on the shop (admin, /ai-seller/status) and raised; see record_failure().
    """
    now = now or timezone.now()
    try:
        with shop_lock(shop.pk) as renew_lock:
            run = SyncRun(shop, now, days, progress, renew_lock)
            try:
                run.read()
            finally:
                count_sales(run.sold)  # once per sync, not per page: it is derived from the saved entries
    except SyncAlreadyRunning:
        raise
    except Exception as exc:
        record_failure(shop, exc, now)
        raise
    done = {"last_synced_at": now, "token_status": Shop.TokenStatus.OK, "last_sync_error": "",
            "last_sync_error_at": None, "sync_failures": 0, "sync_paused_until": None}
    if shop.sync_watermark is None or run.since <= shop.sync_watermark:
        done["sync_watermark"] = now  # everything since the old watermark was read
    Shop.objects.filter(pk=shop.pk).update(**done)
    log.info("shop %s synced: %s", shop.pk, run.summary)
    return run.summary


def record_failure(shop: Shop, exc: Exception, now: datetime):
    """Every failed sync leaves its error on the shop, never only in a log. A rejected token
    stops the shop's syncs until a new token is saved; another 403 pauses them with backoff
    and alerts (an ERROR log line, and the pause in admin and /ai-seller/status)."""
    message = str(exc) if isinstance(exc, KaspiError) else f"{type(exc).__name__}: {exc}"
    failures = Shop.objects.filter(pk=shop.pk).values_list("sync_failures", flat=True).first() or 0
    values = {"last_sync_error": message[:2000], "last_sync_error_at": now, "sync_failures": failures + 1}
    if isinstance(exc, KaspiAuthError):
        values["token_status"] = Shop.TokenStatus.REJECTED
    if isinstance(exc, KaspiForbidden):
        wait = min(FORBIDDEN_BACKOFF * 2 ** min(failures, 10), FORBIDDEN_BACKOFF_MAX)
        values["sync_paused_until"] = now + wait
        log.error("ALERT shop %s: Kaspi answered 403 not about the token; syncs paused for %s: %s",
                  shop.pk, wait, message)
    Shop.objects.filter(pk=shop.pk).update(**values)


def retry_quarantined(shop: Shop, rows: list[QuarantinedOrder]) -> tuple[int, int]:
    """"Try again" on quarantined orders: each is read from Kaspi afresh (or, without an id,
    parsed again from the kept reply) and saved. Returns (saved, still quarantined)."""
    now = timezone.now()
    overlap = timedelta(minutes=settings.KASPI_SYNC_OVERLAP_MINUTES)
    with shop_lock(shop.pk) as renew_lock:
        run = SyncRun(shop, now, None, None, renew_lock)
        try:
            for row in rows:
                order = run.read_again(row)
                if order is None:
                    continue
                # News as it would have been when first seen: a late fix does not make it history.
                run.fresh_since = min(run.fresh_since, row.first_seen_at - overlap)
                run.ingest([order], 1)
                if shop.orders.filter(kaspi_id=order.kaspi_id).exists():
                    QuarantinedOrder.objects.filter(pk=row.pk).delete()
        finally:
            count_sales(run.sold)
    left = QuarantinedOrder.objects.filter(pk__in=[row.pk for row in rows]).count()
    return len(rows) - left, left


def read_ahead(iterable, depth: int = 30):
    """Yield from `iterable` while a thread reads up to `depth` items ahead, so Kaspi's
    latency hides behind the database work. The reader's exception is raised here."""
    items, stopped, done = queue.Queue(maxsize=depth), threading.Event(), object()

    def put(item, error=None) -> bool:
        while not stopped.is_set():
            try:
                items.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                pass
        return False  # the consumer has gone

    def read():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(done)
        except Exception as exc:  # handed to the consumer, which raises it
            put(None, exc)

    reader = threading.Thread(target=read, name="kaspi-reader", daemon=True)
    reader.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stopped.set()
        reader.join()


class SyncRun:
    def __init__(self, shop: Shop, now: datetime, days: int | None, progress, renew_lock):
        self.shop, self.now, self.progress, self.renew_lock = shop, now, progress, renew_lock
        # Pages are read by a thread of their own (see read_ahead); a session is not shared.
        self.client = KaspiClient(shop.kaspi_token, shop_label=f"shop {shop.pk}")
        self.lookups = KaspiClient(shop.kaspi_token, shop_label=f"shop {shop.pk}")
        self.catalogue = Catalogue(shop, self.lookups)
        overlap = timedelta(minutes=settings.KASPI_SYNC_OVERLAP_MINUTES)
        if days:
            self.since = now - timedelta(days=days)
        elif shop.sync_watermark:
            self.since = shop.sync_watermark - overlap
        else:
            self.since = now - timedelta(days=settings.KASPI_SYNC_DAYS)
        # A first sync only learns the past: orders already finished then get no message.
        self.fresh_since = shop.sync_watermark - overlap if shop.sync_watermark else now
        self.open_since = min(self.since, now - timedelta(days=settings.KASPI_OPEN_ORDERS_DAYS))
        self.seen: set[str] = set()
        self.sold: set[int] = set()
        self.summary = SyncSummary()
        self.has_quarantine = QuarantinedOrder.objects.filter(shop=shop).exists()

    def read(self):
        pages = chain.from_iterable(self.client.pages(state, self.since, self.now) for state in STATES)
        if self.open_since < self.since:
            before = self.since - timedelta(milliseconds=1)
            pages = chain(pages, chain.from_iterable(
                self.client.pages(state, self.open_since, before, with_entries=False) for state in ACTIVE_STATES))
        batch, expected = [], 0
        for page in read_ahead(pages):
            for rejected in page.rejected:
                self.hold(rejected, QuarantinedOrder.Stage.PARSE, rejected.error)
            batch += page.orders
            expected += page.total if page.number == 0 else 0
            if len(batch) >= BATCH:
                self.ingest(batch, expected)
                batch, expected = [], 0
        if batch:
            self.ingest(batch, expected)
        unseen = (
            self.shop.orders.filter(created_at_kaspi__gte=self.open_since, created_at_kaspi__lte=self.now)
            .exclude(state__in=[Order.State.DELIVERED, Order.State.CANCELLED, Order.State.RETURNED])
            .exclude(kaspi_id__in=self.seen)
            .values_list("kaspi_id", flat=True)
        )
        for kaspi_id in list(unseen):
            try:
                found = self.lookups.order(kaspi_id)
            except KaspiMalformedReply as exc:
                self.hold(RejectedOrder(kaspi_id, "", exc.raw, str(exc)), QuarantinedOrder.Stage.PARSE, str(exc))
                continue
            if found is not None:
                self.ingest([found], 1)

    def read_again(self, row: QuarantinedOrder) -> KaspiOrder | None:
        """A quarantined order as Kaspi shows it now; None (and the row updated) if it still fails."""
        try:
            if not row.kaspi_id:
                return parse_order(row.raw, {}, keep_raw=True)
            found = self.lookups.order(row.kaspi_id)
        except PARSE_ERRORS + (KaspiMalformedReply,) as exc:
            self.hold(RejectedOrder(row.kaspi_id, row.code, row.raw, str(exc)), row.stage, f"cannot be parsed: {exc}")
            return None
        if found is None:
            self.hold(RejectedOrder(row.kaspi_id, row.code, row.raw, ""), row.stage, "Kaspi no longer has this order")
        return found

    def ingest(self, orders: list[KaspiOrder], expected: int):
        """Fetch what orders lack (new orders' entries, their products' codes), then save them.
        An order whose items or product cannot be read, or that cannot be saved, is quarantined.
        `expected`: how many more orders the queries that gave them announced."""
        lacking = [o.kaspi_id for o in orders if o.entries is None]  # pages read without entries
        known = set(self.shop.orders.filter(kaspi_id__in=lacking).values_list("kaspi_id", flat=True)) if lacking else set()
        complete, products = [], {}
        for order in orders:
            try:
                if order.entries is None and order.kaspi_id not in known:
                    order = replace(order, entries=self.lookups.entries(order.kaspi_id))
                for entry in order.entries or []:
                    products[entry.kaspi_id] = self.catalogue.product_for(entry)
            except (KaspiMalformedReply, KaspiNotFound) as exc:
                self.hold(order, QuarantinedOrder.Stage.FETCH, str(exc))
                continue
            complete.append(order)
        self.save(complete, products)
        self.seen.update(o.kaspi_id for o in orders)
        self.renew_lock()
        if self.progress:
            self.progress(len(orders), expected)

    def save(self, orders: list[KaspiOrder], products: dict):
        """The batch in one transaction; if the database refuses it, order by order, so only the
        orders it refuses are quarantined."""
        try:
            summary, sold = ingest_batch(self.shop, orders, products, now=self.now, fresh_since=self.fresh_since)
            refused = set()
        except quarantine.STORE_ERRORS:
            summary, sold, refused = SyncSummary(), set(), set()
            for order in orders:
                try:
                    one, one_sold = ingest_batch(self.shop, [order], products, now=self.now,
                                                 fresh_since=self.fresh_since)
                except quarantine.STORE_ERRORS as exc:
                    self.hold(order, QuarantinedOrder.Stage.STORE, f"cannot be saved: {type(exc).__name__}: {exc}")
                    refused.add(order.kaspi_id)
                    continue
                summary.add(one)
                sold |= one_sold
        self.summary.add(summary)
        self.sold |= sold
        if self.has_quarantine:
            quarantine.release(self.shop, [o.kaspi_id for o in orders if o.kaspi_id not in refused])

    def hold(self, order: KaspiOrder | RejectedOrder, stage: str, error: str):
        quarantine.hold(self.shop, kaspi_id=order.kaspi_id, code=order.code, raw=order.raw or {},
                        stage=stage, error=error)
        self.has_quarantine = True
        self.seen.add(order.kaspi_id)
