"""The outbox's moves. Every change is a conditional update, so a step that runs twice,
or two workers racing on one row, change it once; every change leaves a MessageEvent."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from kaspi_sync import bulk

from .models import MessageEvent, OutboundMessage, Trigger
from .phones import normalize_phone
from .waha import raw_id

log = logging.getLogger(__name__)
Status = OutboundMessage.Status

WAITING = (Status.PENDING, Status.DEFERRED, Status.GENERATED)
# A row that ends here never reached the customer: its place under the caps is given back.
GIVING_UP = (Status.BLOCKED, Status.CANCELLED, Status.FAILED)


def create_trigger(order, trigger: Trigger) -> int:
    """Create the (order, trigger) row once, ever, and start its pipeline after commit.
    Returns 1 when this call created it, 0 when it existed."""
    if not order.shop.trigger_enabled(trigger):
        return 0
    phone = normalize_phone(order.customer_phone) or order.customer_phone
    try:
        with transaction.atomic():
            message = OutboundMessage.objects.create(shop_id=order.shop_id, order=order, trigger=trigger, phone=phone)
    except IntegrityError:
        return 0  # the unique constraint: it exists already
    MessageEvent.objects.create(message=message, status=Status.PENDING, note="created")
    from seller.pipeline import start_pipeline

    transaction.on_commit(lambda: start_pipeline(message.pk))
    log.info("outbox %s created: %s for order %s", message.pk, trigger, order.pk)
    return 1


def create_triggers(wanted: list) -> int:
    """create_trigger for many (order, trigger) pairs at once, as a sync's batch has them: the
    rows that do not exist yet in one INSERT, their events in another. Returns how many it created."""
    wanted = [(order, trigger) for order, trigger in wanted if order.shop.trigger_enabled(trigger)]
    existing = set(
        OutboundMessage.objects.filter(order__in=[order for order, _ in wanted]).values_list("order_id", "trigger")
    )
    messages = [
        OutboundMessage(shop_id=order.shop_id, order=order, trigger=trigger, phone=order.customer_phone)
        for order, trigger in wanted
        if (order.pk, trigger) not in existing
    ]
    if not messages:
        return 0
    try:
        with transaction.atomic():
            bulk.insert_objects(OutboundMessage, messages)
    except IntegrityError:  # another writer got in between: one by one, the unique constraint decides
        return sum(create_trigger(order, trigger) for order, trigger in wanted)
    bulk.insert_objects(MessageEvent, [MessageEvent(message=m, status=Status.PENDING, note="created") for m in messages])
    from .tasks import start_pipelines

    ids = [message.pk for message in messages]
    transaction.on_commit(lambda: start_pipelines.delay(ids))
    log.info("outbox: %s rows created (%s to %s)", len(ids), ids[0], ids[-1])
    return len(ids)


def move(message_id: int, expected, new_status: str, note: str = "", **fields) -> bool:
    """Move a row from one of the `expected` statuses to `new_status`; False if another
    worker (or an earlier run) moved it first. A move that gives up the row, or clears
    `reserved_at`, releases the row's reservation after commit."""
    expected = [expected] if isinstance(expected, str) else list(expected)
    if "waha_message_id" in fields:
        fields["waha_raw_id"] = raw_id(fields["waha_message_id"] or "")  # acks are matched on it
    releasing = new_status in GIVING_UP or ("reserved_at" in fields and fields["reserved_at"] is None)
    if releasing:
        fields["reserved_at"] = None
    with transaction.atomic():
        held = None
        if releasing:
            held = (OutboundMessage.objects.select_for_update().filter(pk=message_id, status__in=expected)
                    .exclude(reserved_at=None).values("shop_id", "phone", "reserved_at").first())
        changed = OutboundMessage.objects.filter(pk=message_id, status__in=expected).update(
            status=new_status, updated_at=timezone.now(), **fields
        )
        if changed:
            MessageEvent.objects.create(message_id=message_id, status=new_status, note=note[:300])
            if held:
                transaction.on_commit(lambda: release(message_id, **held))
    if changed:
        log.info("outbox %s -> %s %s", message_id, new_status, note)
    return bool(changed)


def release(message_id: int, shop_id: int, phone: str, reserved_at):
    from seller import limits

    try:
        limits.release(shop_id, phone, message_id, reserved_at)
    except RedisError as exc:
        # Only over-counts until the key expires: the safe side.
        log.warning("outbox %s: reservation not released: %s", message_id, exc)


def cancel_waiting(order, reason: str):
    """An order cancelled or returned: what has not been sent yet never will be."""
    for message_id in order.messages.filter(status__in=WAITING).values_list("pk", flat=True):
        move(message_id, WAITING, Status.CANCELLED, note=f"order {reason}", reason=f"order_{reason}")


def cancel(message_ids, note: str = "by an operator") -> int:
    """An operator stops rows that have not been sent; returns how many."""
    return sum(move(pk, WAITING, Status.CANCELLED, note=note, reason="operator") for pk in message_ids)


def retry(message_ids, note: str = "retried by an operator") -> int:
    """Failed rows start again from the policy check (which reserves their place anew);
    returns how many. Their pipeline starts after commit."""
    from seller.pipeline import start_pipeline

    count = 0
    for pk in message_ids:
        if move(pk, Status.FAILED, Status.PENDING, note=note, reason="", attempts=0, last_error="", text=""):
            transaction.on_commit(lambda pk=pk: start_pipeline(pk))
            count += 1
    return count
