"""WAHA sessions paused by WhatsApp's 463 "reachout timelock": while paused, a session may
still answer people it has talked to, but must not start new chats. Kept in the database so
operators see it in admin and the status endpoint can report it."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from config import sql

from .models import InboundMessage, OutboundMessage, SessionPause

log = logging.getLogger(__name__)
Status = OutboundMessage.Status
REACHED = (Status.SENT, Status.DELIVERED, Status.READ, Status.UNKNOWN)


def pause(session: str, reason: str, now: datetime | None = None) -> datetime:
    until = (now or timezone.now()) + timedelta(hours=settings.WAHA_REACHOUT_PAUSE_HOURS)
    SessionPause.objects.update_or_create(session=session, defaults={"paused_until": until, "reason": reason[:300]})
    log.warning("WAHA session %s paused for new contacts until %s: %s", session, until.isoformat(), reason)
    return until


def paused_until(session: str, now: datetime | None = None) -> datetime | None:
    # Asked before every send: plain SQL, one column of the one row a session may have.
    field = SessionPause._meta.get_field("paused_until")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT paused_until FROM {connection.ops.quote_name(SessionPause._meta.db_table)} "
                       "WHERE session = %s AND paused_until > %s", [session, sql.to_db(field, now or timezone.now())])
        row = cursor.fetchone()
    return sql.from_db(field, row[0]) if row else None


def resume(session: str) -> int:
    return SessionPause.objects.filter(session=session).delete()[0]


def paused_sessions(now: datetime | None = None) -> list[dict]:
    """For the status endpoint: [{session, paused_until, reason}] of sessions paused now."""
    return list(
        SessionPause.objects.filter(paused_until__gt=now or timezone.now())
        .order_by("session")
        .values("session", "paused_until", "reason")
    )


def sent_through(session: str) -> Q:
    """Outbox rows of the shops that send through this WAHA session."""
    rows = Q(shop__waha_session=session)
    return rows | Q(shop__waha_session="") if session == settings.WAHA_SESSION else rows


def is_new_contact(phone: str, session: str, exclude_id: int | None = None) -> bool:
    """This session has neither reached nor heard from the phone: a first message starts a new chat."""
    reached = OutboundMessage.objects.filter(sent_through(session), phone=phone, status__in=REACHED)
    heard = InboundMessage.objects.filter(phone=phone, session=session)
    return not reached.exclude(pk=exclude_id).exists() and not heard.exists()
