"""Orders and outbox rows with chosen times, made directly: attribution and lift read only these."""

import itertools
from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from django.utils import timezone

from kaspi_sync.models import Order, Shop
from messaging.models import OutboundMessage

_codes = itertools.count(600_000_001)


@pytest.fixture
def api(db, django_user_model):
    user = django_user_model.objects.create_superuser("ops", "ops@example.kz", "ops-password")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def shop(db):
    return Shop.objects.create(name="Tech Store Almaty", kaspi_token="kaspi-sales-token-01")


def order(shop, phone, at, total=10_000, state=Order.State.DELIVERED) -> Order:
    code = str(next(_codes))
    return Order.objects.create(shop=shop, kaspi_id=f"id-{code}", code=code, state=state, created_at_kaspi=at,
                                total_price=total, customer_phone=phone)


def sent(shop, phone, at, trigger="POST_PURCHASE", delivered_after=timedelta(minutes=5), variant="", placed=None,
         **fields):
    """A message delivered to the customer (about an order of theirs placed just before)."""
    placed = placed or order(shop, phone, at - timedelta(hours=1))
    delivered = at + delivered_after if delivered_after is not None else None
    return OutboundMessage.objects.create(
        shop=shop, order=placed, trigger=trigger, phone=phone, created_at=at, text="Спасибо!",
        status="delivered" if delivered else "sent", sent_at=at, delivered_at=delivered, variant=variant, **fields)


def held_out(shop, phone, at, trigger="POST_PURCHASE"):
    placed = order(shop, phone, at - timedelta(hours=1))
    row = OutboundMessage.objects.create(shop=shop, order=placed, trigger=trigger, phone=phone, created_at=at,
                                         status="blocked", reason="holdout")
    OutboundMessage.objects.filter(pk=row.pk).update(updated_at=at)  # when it was held out
    return row


@pytest.fixture
def now():
    return timezone.now()
