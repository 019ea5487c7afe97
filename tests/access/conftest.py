"""Two shops with one of everything each, and users in each role."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from access import roles
from access.models import AuditEntry, ShopAccess
from kaspi_sync.models import Order, OrderEntry, Product, Shop
from messaging.models import InboundMessage, MessageEvent, OptOut, OutboundMessage, SessionPause
from seller.models import Handoff, KnowledgeEntry

# What of shop B must never show to a merchant of shop A.
B_MARKERS = ("Bravo Bazaar", "777000111", "9998877", "Bravo Kettle", "bravo-session", "Бравожан")


def fill_shop(name: str, code: str, phone: str, product: str, session: str, customer: str) -> Shop:
    shop = Shop.objects.create(name=name, kaspi_token=f"kaspi-token-{code}", waha_session=session)
    item = Product.objects.create(shop=shop, code=f"p{code}", name=product)
    order = Order.objects.create(shop=shop, kaspi_id=f"K{code}", code=code, state="delivered",
                                 created_at_kaspi=timezone.now(), customer_phone=phone, customer_first_name=customer)
    OrderEntry.objects.create(order=order, product=item, name=product, quantity=1)
    failed = OutboundMessage.objects.create(shop=shop, order=order, trigger="ORDER_DELIVERED", phone=phone,
                                            chat_id=phone.lstrip("+") + "@c.us", status="failed", reason="waha_http_400",
                                            text=f"Спасибо, {customer}!")
    MessageEvent.objects.create(message=failed, status="failed", note="waha_http_400")
    waiting = OutboundMessage.objects.create(shop=shop, order=order, trigger="POST_PURCHASE", phone=phone,
                                             status="pending")
    MessageEvent.objects.create(message=waiting, status="pending")
    OptOut.objects.create(phone=phone, shop=shop, keyword="стоп")
    InboundMessage.objects.create(waha_id=f"in-{code}", sender=phone.lstrip("+") + "@c.us", phone=phone, body="стоп",
                                  session=session, in_reply_to=failed)
    SessionPause.objects.create(session=session, paused_until=timezone.now() + timezone.timedelta(hours=3))
    AuditEntry.objects.create(actor="someone", action="shop.change", shop=shop, target=name)
    Handoff.objects.create(shop=shop, order=order, phone=phone, session=session, reason="complaint")
    KnowledgeEntry.objects.create(shop=shop, topic="delivery", text=f"{product}: доставка за 2 дня")
    return shop


@pytest.fixture
def shops(db):
    a = fill_shop("Alpha Market", "555000111", "+77011112233", "Alpha Lamp", "alpha-session", "Айгерим")
    b = fill_shop("Bravo Bazaar", "777000111", "+77019998877", "Bravo Kettle", "bravo-session", "Бравожан")
    return a, b


@pytest.fixture
def make_user(db, django_user_model):
    roles.sync_groups(apps)  # a transactional test before this one flushed the migration's groups

    def make(role: str | None, *, shops=(), every_shop=False, name=None):
        user = django_user_model.objects.create_user(name or f"{role or 'nobody'}-{len(shops)}-{every_shop}",
                                                     password="pw-1234", is_staff=True)
        if role:
            user.groups.add(Group.objects.get(name=role))
        if every_shop:
            user.groups.add(Group.objects.get(name=roles.INSTALLATION_STAFF))
        for shop in shops:
            ShopAccess.objects.create(user=user, shop=shop)
        return user
    return make


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client
