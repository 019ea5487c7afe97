"""One shop's sync: what to read from Kaspi, and when the shop's watermark moves.

Kaspi filters orders only by creation date, yet orders change for weeks after they are
created. So a sync reads, in this order:

1. every tab, orders created since the watermark minus KASPI_SYNC_OVERLAP_MINUTES (or the
   last KASPI_SYNC_DAYS on a first sync, or `days` when asked): the new orders;
2. the active tabs only (not ARCHIVE), orders created in the KASPI_OPEN_ORDERS_DAYS before
   that: orders still under way, which are few;
3. by id, each of our open orders of those days that neither read showed: it has left the
   active tabs since the last sync, so it was completed, cancelled or returned.

The watermark moves to the sync's start only when every read succeeded.
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

from .catalogue import Catalogue
from .client import ACTIVE_STATES, STATES, KaspiAuthError, KaspiClient, KaspiError, KaspiOrder
from .ingest import SyncSummary, count_sales, ingest_batch
from .models import Order, Shop

log = logging.getLogger(__name__)
LOCK_SECONDS = 10 * 60  # renewed at every batch; expires soon after a worker dies holding it
BATCH = 1000  # orders saved per transaction: ten pages, so far fewer round trips than page by page

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
    `progress(done, more_expected)` is called after each batch. A rejected token marks the
    shop; any Kaspi error is recorded on the shop and raised.
    """
    now = now or timezone.now()
    with shop_lock(shop.pk) as renew_lock:
        run = SyncRun(shop, now, days, progress, renew_lock)
        try:
            run.read()
        except KaspiError as exc:
            rejected = {"token_status": Shop.TokenStatus.REJECTED} if isinstance(exc, KaspiAuthError) else {}
            Shop.objects.filter(pk=shop.pk).update(last_sync_error=str(exc)[:2000], **rejected)
            raise
        finally:
            count_sales(run.sold)  # once per sync, not per page: it is derived from the saved entries
    done = {"last_synced_at": now, "token_status": Shop.TokenStatus.OK, "last_sync_error": ""}
    if shop.sync_watermark is None or run.since <= shop.sync_watermark:
        done["sync_watermark"] = now  # everything since the old watermark was read
    Shop.objects.filter(pk=shop.pk).update(**done)
    log.info("shop %s synced: %s", shop.pk, run.summary)
    return run.summary


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

    def read(self):
        pages = chain.from_iterable(self.client.pages(state, self.since, self.now) for state in STATES)
        if self.open_since < self.since:
            before = self.since - timedelta(milliseconds=1)
            pages = chain(pages, chain.from_iterable(
                self.client.pages(state, self.open_since, before, with_entries=False) for state in ACTIVE_STATES))
        batch, expected = [], 0
        for page in read_ahead(pages):
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
            found = self.lookups.order(kaspi_id)
            if found is not None:
                self.ingest([found], 1)

    def ingest(self, orders: list[KaspiOrder], expected: int):
        """Fetch what new orders lack (their entries, their products' codes), then save them.
        `expected`: how many more orders the queries that gave them announced."""
        lacking = [o.kaspi_id for o in orders if o.entries is None]  # pages read without entries
        known = set(self.shop.orders.filter(kaspi_id__in=lacking).values_list("kaspi_id", flat=True)) if lacking else set()
        fetched = {kaspi_id: self.lookups.entries(kaspi_id) for kaspi_id in lacking if kaspi_id not in known}
        orders = [replace(o, entries=fetched[o.kaspi_id]) if o.kaspi_id in fetched else o for o in orders]
        products = {e.kaspi_id: self.catalogue.product_for(e) for o in orders if o.entries for e in o.entries}
        summary, sold = ingest_batch(self.shop, orders, products, now=self.now, fresh_since=self.fresh_since)
        self.summary.add(summary)
        self.sold |= sold
        self.seen.update(o.kaspi_id for o in orders)
        self.renew_lock()
        if self.progress:
            self.progress(len(orders), expected)
