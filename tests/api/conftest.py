import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def admin_token(db, django_user_model):
    user = django_user_model.objects.create_superuser("ops", "ops@example.kz", "ops-password")
    return Token.objects.create(user=user).key


@pytest.fixture
def api(admin_token):
    """An API client that presents an admin's token, as an operator's script would."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {admin_token}")
    return client


@pytest.fixture
def history(db):
    """Outbox rows with a chosen history: `history(shop, [("sent", at), ...], reason=...)`,
    written the way `messaging.outbox.move` writes them (the row, and one event per change)."""
    return history_maker()


def history_maker():
    """What the `history` fixture gives (for tests that commit, with `transactional_db`)."""
    from django.utils import timezone

    from kaspi_sync.models import Order
    from messaging.models import MessageEvent, OutboundMessage

    made = []

    def make(shop, moves, trigger="POST_PURCHASE", **fields):
        n = len(made) + 1
        order = Order.objects.create(shop=shop, kaspi_id=f"T{shop.pk}-{n}", code=f"7{shop.pk:03d}{n:05d}",
                                     created_at_kaspi=timezone.now(), customer_phone="+77011234567")
        first_at = moves[0][1] if moves else timezone.now()
        row = OutboundMessage.objects.create(shop=shop, order=order, trigger=trigger, phone=order.customer_phone,
                                             created_at=first_at, **fields)
        MessageEvent.objects.create(message=row, status="pending", note="created", at=first_at)
        for status, at in moves:
            MessageEvent.objects.create(message=row, status=status, at=at)
        OutboundMessage.objects.filter(pk=row.pk).update(status=moves[-1][0] if moves else "pending")
        made.append(row)
        return row

    return make
