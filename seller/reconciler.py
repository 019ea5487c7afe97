"""The work, derived from the outbox every minute (beat): whatever a lost broker message, a
killed worker or a failed publish left behind is started again from the row's status, so they
delay a message but never lose or duplicate it.

- a row waiting for a step (`pending`, `approved`, `generated`) that has not moved for
  `SELLER_STUCK_MINUTES` gets that step published again (steps are idempotent);
- a `sending` row older than WAHA's timeout plus a margin became `unknown`: its worker is gone;
- `unknown` rows are looked up in WAHA's chat history (`sending.resolve_unknown`);
- replies not processed yet are handed to their task again.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from messaging import inbound, outbox
from messaging.models import OutboundMessage

from . import pipeline, sending
from .conversations import delivery as conversation_delivery

log = logging.getLogger(__name__)
Status = OutboundMessage.Status
BATCH = 500  # rows per status per run: a backlog is worked through over several minutes
SENDING_MARGIN_SECONDS = 60


def reconcile(now=None) -> dict:
    now = now or timezone.now()
    done = {status: restart_stuck(status, now) for status in pipeline.STEP_FOR}
    done["sending_to_unknown"] = expire_sending(now)
    done["unknown"] = resolve_unknown(now)
    done["replies"] = retry_replies(now)
    done.update(conversations(now))
    if any(done.values()):
        log.info("reconciler: %s", done)
    return done


def restart_stuck(status: str, now) -> int:
    """Publish the step again for rows that have not moved (and whose own retry, `not_before`,
    is overdue too); touching `updated_at` first means a row is restarted at most once per
    period however long the queue is."""
    stuck_before = now - timedelta(minutes=settings.SELLER_STUCK_MINUTES)
    rows = OutboundMessage.objects.filter(Q(not_before__isnull=True) | Q(not_before__lt=stuck_before),
                                          status=status, updated_at__lt=stuck_before)
    ids = list(rows.order_by("updated_at").values_list("pk", flat=True)[:BATCH])
    if not ids:
        return 0
    OutboundMessage.objects.filter(pk__in=ids, status=status).update(updated_at=now)
    pipeline.start(ids, status)
    return len(ids)


def expire_sending(now) -> int:
    """A `sending` row that outlived any request: its worker died mid-send. Never resent blindly."""
    stale_before = now - timedelta(seconds=settings.WAHA_TIMEOUT + 5 + SENDING_MARGIN_SECONDS)
    ids = OutboundMessage.objects.filter(status=Status.SENDING, updated_at__lt=stale_before).values_list("pk", flat=True)
    return sum(outbox.move(pk, Status.SENDING, Status.UNKNOWN, note="still sending: the worker was lost")
               for pk in list(ids[:BATCH]))


def resolve_unknown(now) -> int:
    """Unknown rows settle from WAHA's chat history; those found missing are sent once more."""
    ids = list(OutboundMessage.objects.filter(status=Status.UNKNOWN).order_by("updated_at")
               .values_list("pk", flat=True)[:BATCH])
    settled = 0
    for message_id in ids:
        outcome = sending.resolve_unknown(message_id, now)
        if outcome == "retry":
            pipeline.start([message_id], Status.GENERATED)
        if outcome == "unreachable":
            break  # WAHA is down: the rest wait for the next run
        settled += outcome in ("sent", "retry")
    return settled


def retry_replies(now) -> int:
    """Replies the webhook stored but no task finished (a failed publish, WAHA down for long),
    by time, however many tries it takes; and opt-outs held against an @lid, asked for again."""
    return inbound.retry_unprocessed(older_than_seconds=60, now=now)


def conversations(now) -> dict:
    """Replies the seller has not handled yet, answers not sent yet (seller.conversations)."""
    return {f"conversation_{name}": count for name, count in conversation_delivery.reconcile(now).items()}
