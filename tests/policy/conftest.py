"""Outbox rows for policy tests, made directly (no pipeline starts), and a way to make Redis
forget the project's keys the way a restart or a flush would."""

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from config import redis
from kaspi_sync.models import Order, Shop
from messaging.models import OutboundMessage, Trigger

ALMATY = ZoneInfo("Asia/Almaty")
PHONE = "+77011234567"
_codes = itertools.count(500_000_001)


def almaty(*args) -> datetime:
    return datetime(*args, tzinfo=ALMATY)


def forget_redis_keys(pattern: str = "*"):
    """Only our own keys in our own test DB (never FLUSHDB: other runs share the server)."""
    client = redis.client()
    names = list(client.scan_iter(redis.PREFIX + pattern))
    if names:
        client.delete(*names)
    return len(names)


@pytest.fixture
def policy_shop(db):
    return Shop.objects.create(name="Tech Store Almaty", kaspi_token="kaspi-policy-token-01")


@pytest.fixture
def make_message(policy_shop):
    def make(phone=PHONE, trigger=Trigger.POST_PURCHASE, created=None, shop=None, status=OutboundMessage.Status.PENDING,
             text="", delivered_at=None, state=Order.State.NEW):
        shop = shop or policy_shop
        code = str(next(_codes))
        created = created or timezone.now()
        order = Order.objects.create(shop=shop, kaspi_id=f"id-{code}", code=code, state=state, created_at_kaspi=created,
                                     delivered_at=delivered_at, customer_phone=phone, customer_first_name="Айгерим")
        return OutboundMessage.objects.create(shop=shop, order=order, trigger=trigger, phone=phone, status=status,
                                              text=text, created_at=created)
    return make
