"""Orders Kaspi sent that could not be parsed, read whole or saved, kept aside with the error,
so one odd order never stops a shop's sync: the rest of its page is saved and the watermark
moves on. The admin lists them; "try again" reads each from Kaspi afresh and saves it."""

import logging

import orjson
from django.db import DataError, IntegrityError
from django.db.models import F

from .models import QuarantinedOrder, Shop

log = logging.getLogger(__name__)
# What one order's values can do to the database (a value too long for its column, a NUL
# character, a broken constraint): that order is quarantined. Anything else (the database
# gone, a bug) fails the sync as a whole, which is recorded on the shop.
STORE_ERRORS = (DataError, IntegrityError, ValueError)


def hold(shop: Shop, *, kaspi_id: str, code: str, raw, stage: str, error: str) -> QuarantinedOrder:
    """Keep one order aside (again: the error and the raw reply are the latest ones)."""
    log.warning("shop %s: order %s quarantined (%s): %s", shop.pk, code or kaspi_id or "?", stage, error[:300])
    values = {"code": code[:200], "stage": stage, "error": error[:4000], "raw": storable(raw)}
    if kaspi_id:
        row, created = QuarantinedOrder.objects.get_or_create(shop=shop, kaspi_id=kaspi_id[:200], defaults=values)
        if not created:
            QuarantinedOrder.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, **values)
        return row
    return QuarantinedOrder.objects.create(shop=shop, **values)


def release(shop: Shop, kaspi_ids) -> int:
    """Orders saved at last leave the quarantine."""
    return QuarantinedOrder.objects.filter(shop=shop, kaspi_id__in=list(kaspi_ids)).delete()[0]


def storable(raw):
    """The raw reply as PostgreSQL's jsonb takes it (it refuses NUL characters)."""
    return orjson.loads(orjson.dumps(raw, default=repr).replace(b"\\u0000", b""))
