"""A customer's reply, after the webhook stored it (and recorded its opt-out): who wrote (an @lid
sender is mapped to a phone through WAHA), which of our messages it answers, the opt-out's
confirmation, or an opt-in. A reply is never dropped: while WAHA cannot help, it stays
unprocessed with the reason on the row, and `retry_unprocessed` (the reconciler's sweep) tries
it again, by time, for as long as it takes."""

import hashlib
import logging
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import optouts, outbox, session_state
from .models import InboundMessage, LidOptOut, OptOut, OutboundMessage
from .phones import chat_id, normalize_phone
from .waha import WahaClient, WahaError

log = logging.getLogger(__name__)
LID_RECHECK_SECONDS = 15 * 60  # how often an unmapped lid's phone is asked for again
LIDS_PER_SWEEP = 100


class NotYet(Exception):
    """WAHA cannot help now (down, session not WORKING): the reply waits for the sweep."""


def process(inbound_id: int):
    with one_run_at_a_time(inbound_id) as alone:
        if alone:
            process_alone(inbound_id)


@contextmanager
def one_run_at_a_time(inbound_id: int):
    """Yields False while another run of this reply is under way (the sweep queued it again while
    an earlier run waited on WAHA): that run sends the confirmation or leaves the reply to the
    next sweep, and this one must not read its claim as a confirmation sent. A PostgreSQL
    session lock, let go when the run ends or its connection dies; SQLite, for a local try, has
    one worker."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = int.from_bytes(hashlib.blake2b(f"inbound:{inbound_id}".encode(), digest_size=8).digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        alone = cursor.fetchone()[0]
    try:
        yield alone
    finally:
        if alone:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def process_alone(inbound_id: int):
    inbound = InboundMessage.objects.filter(pk=inbound_id, processed_at__isnull=True).first()
    if inbound is None:
        return
    InboundMessage.objects.filter(pk=inbound_id).update(attempts=F("attempts") + 1, last_attempt_at=timezone.now())
    try:
        phone = inbound.phone or phone_for_lid(inbound)
        last = last_message(inbound, phone)
        if inbound.confirm_opt_out:
            confirm(inbound, phone, last)
    except NotYet as exc:
        InboundMessage.objects.filter(pk=inbound_id, processed_at__isnull=True).update(pending_reason=str(exc)[:300])
        log.info("reply %s not processed yet: %s", inbound_id, exc)
        return
    finish(inbound, phone, last)


def last_message(inbound: InboundMessage, phone: str | None) -> OutboundMessage | None:
    """Our last message to this customer through the session the reply came to: what it answers."""
    if not phone:
        return None
    ours = OutboundMessage.objects.filter(session_state.sent_through(inbound.session), phone=phone, sent_at__isnull=False)
    return ours.select_related("shop").order_by("-sent_at").first()


def finish(inbound: InboundMessage, phone: str | None, last: OutboundMessage | None):
    with transaction.atomic():
        claimed = InboundMessage.objects.filter(pk=inbound.pk, processed_at__isnull=True).update(
            processed_at=timezone.now(), phone=phone or "", in_reply_to=last, pending_reason=""
        )
        if not claimed:
            return  # another run got here first
        if last and not last.replied_at:
            OutboundMessage.objects.filter(pk=last.pk).update(replied_at=timezone.now())
        if phone and inbound.sender.endswith("@lid"):
            optouts.lid_mapped(inbound.sender, phone)
        if inbound.is_opt_out and phone and last:
            OptOut.objects.filter(phone=phone, shop__isnull=True).update(shop=last.shop)
        if not inbound.is_opt_out and optouts.is_resubscribe(inbound.body):
            if (phone and optouts.resubscribe(phone)) or LidOptOut.objects.filter(
                    lid=inbound.sender, mapped_at__isnull=True).delete()[0]:
                log.info("a customer opted back in by reply")
        if phone and not inbound.is_opt_out:
            # The seller answers the reply; messaging names its task only.
            transaction.on_commit(lambda: outbox.publish("seller.handle_reply", inbound.pk))


def confirm(inbound: InboundMessage, phone: str | None, last: OutboundMessage | None):
    """The opt-out's confirmation, once, naming the shop whose message it answers. Claimed before
    the request; given back only when WAHA answered with an error (nothing was sent), so it is
    never sent twice."""
    if not InboundMessage.objects.filter(pk=inbound.pk, confirm_opt_out=True).update(confirm_opt_out=False):
        return
    text = optouts.confirmation(last.shop.name if last else "")
    try:
        WahaClient(inbound.session or None).send_text(chat_id(phone) if phone else inbound.sender, text)
    except WahaError as exc:
        if exc.maybe_sent:
            log.warning("opt-out confirmation may not have been sent: %s", exc)
            return
        if exc.transient:
            InboundMessage.objects.filter(pk=inbound.pk).update(confirm_opt_out=True)
            raise NotYet(f"confirmation not sent yet: {exc}") from exc
        log.warning("opt-out confirmation not sent: %s", exc)


def phone_for_lid(inbound: InboundMessage) -> str | None:
    if not inbound.sender.endswith("@lid"):
        return None
    try:
        return normalize_phone(WahaClient(inbound.session or None).phone_for_lid(inbound.sender) or "")
    except WahaError as exc:
        if exc.transient:
            raise NotYet(f"lid not mapped yet: {exc}") from exc
        # 400 (NOWEB without its store), 404 (WAHA before 2025.5.4), 422 invalid lid: the reply
        # is done; an opt-out stays held against the lid and is asked for again by the sweep.
        log.warning("an @lid sender could not be mapped to a phone: %s", exc)
        return None


def retry_unprocessed(older_than_seconds: float, now=None) -> int:
    """The sweep: queue again every reply not processed `older_than_seconds` after its last try
    (or its arrival), however many tries it took; then ask WAHA again for the phones of lids that
    opted out. Returns how many replies were queued."""
    now = now or timezone.now()
    due = (InboundMessage.objects.filter(processed_at__isnull=True)
           .annotate(tried=Coalesce("last_attempt_at", "received_at"))
           .filter(tried__lt=now - timedelta(seconds=older_than_seconds)).order_by("tried"))
    queued = 0
    for inbound_id in due.values_list("pk", flat=True)[:1000]:
        if not outbox.publish("messaging.process_inbound", inbound_id):
            break  # the broker is down: the next sweep tries again
        queued += 1
    if queued:
        log.info("%s unprocessed repl(ies) queued again", queued)
    map_held_lids(now)
    return queued


def map_held_lids(now=None) -> int:
    """Ask WAHA again for the phone of each lid whose opt-out is still held; returns how many it applied."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=LID_RECHECK_SECONDS)
    held = (LidOptOut.objects.filter(mapped_at__isnull=True)
            .exclude(last_checked_at__gt=stale).order_by(F("last_checked_at").asc(nulls_first=True)))
    applied = 0
    for lid_opt_out in held[:LIDS_PER_SWEEP]:
        error, phone = "", None
        try:
            phone = normalize_phone(WahaClient(lid_opt_out.session or None).phone_for_lid(lid_opt_out.lid) or "")
        except WahaError as exc:
            error = str(exc)[:300]
        LidOptOut.objects.filter(pk=lid_opt_out.pk).update(
            last_checked_at=now, last_error=error or ("" if phone else "WAHA knows no phone for this lid (pn: null)"))
        if phone:
            applied += optouts.lid_mapped(lid_opt_out.lid, phone)
    return applied


def check_held_lid(phone: str, session: str) -> bool:
    """Before a send: while opt-outs are held against lids WAHA could not map, ask WAHA the other
    way round (phone -> lid); if this phone's lid opted out, the opt-out now blocks the phone.
    True when it did. Costs nothing while no opt-out is held."""
    if not lid_opt_outs_held():
        return False
    try:
        lid = WahaClient(session).lid_for_phone(phone.lstrip("+"))
    except WahaError as exc:
        log.info("reverse lid lookup skipped: %s", exc)
        return False
    return bool(lid) and optouts.lid_mapped(lid, phone) > 0


def lid_opt_outs_held() -> bool:
    """Asked before every send: plain SQL, as building the ORM's query cost more than running it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(LidOptOut._meta.db_table)} "
                       "WHERE mapped_at IS NULL LIMIT 1")
        return cursor.fetchone() is not None
