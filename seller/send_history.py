"""When a WhatsApp number last sent, from the database: what the pace limiter counts from when
Redis has forgotten the number (a restart, a flush)."""

from datetime import datetime

from django.conf import settings
from django.db.models import Max, Q

from messaging.models import OutboundMessage
from seller.models import Answer


def last_sent(session: str) -> datetime | None:
    """The latest message or answer sent on `session`, or being sent (its claim's time)."""
    shops = Q(shop__waha_session=session)
    if session == settings.WAHA_SESSION:
        shops |= Q(shop__waha_session="")  # shops on the default session
    moments = [
        *OutboundMessage.objects.filter(shops).aggregate(
            sent=Max("sent_at"), sending=Max("updated_at", filter=Q(status=OutboundMessage.Status.SENDING))).values(),
        *Answer.objects.filter(session=session).aggregate(
            sent=Max("sent_at"), sending=Max("updated_at", filter=Q(status=Answer.Status.SENDING))).values(),
    ]
    return max((moment for moment in moments if moment), default=None)
