"""The outbox's moves. Every change is a conditional update, so a step that runs twice,
or two workers racing on one row, change it once; every change leaves a MessageEvent."""

import logging

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from config import bulk
from config.celery_app import app

from . import limits
from .models import MessageEvent, OutboundMessage
from .phones import normalize_phone
from .waha import raw_id

log = logging.getLogger(__name__)
Status = OutboundMessage.Status

# The status graph, written once: where each status may go. `move` refuses any other move.
GRAPH = {
    Status.PENDING: (Status.APPROVED, Status.DEFERRED, Status.BLOCKED, Status.CANCELLED),
    Status.DEFERRED: (Status.PENDING, Status.GENERATED, Status.BLOCKED, Status.CANCELLED),
    Status.APPROVED: (Status.GENERATED, Status.REVIEW, Status.BLOCKED, Status.CANCELLED),
    Status.REVIEW: (Status.GENERATED, Status.BLOCKED, Status.CANCELLED),  # an operator approves or rejects
    Status.GENERATED: (Status.SENDING, Status.DEFERRED, Status.BLOCKED, Status.CANCELLED, Status.FAILED,
                       Status.DRY_RUN),
    Status.SENDING: (Status.SENT, Status.UNKNOWN, Status.FAILED, Status.GENERATED, Status.DEFERRED),
    Status.UNKNOWN: (Status.SENT, Status.GENERATED, Status.DELIVERED, Status.READ, Status.FAILED),
    Status.SENT: (Status.DELIVERED, Status.READ, Status.FAILED),
    Status.DELIVERED: (Status.READ, Status.FAILED),
    Status.FAILED: (Status.PENDING,),
    Status.READ: (),
    Status.BLOCKED: (),
    Status.CANCELLED: (),
    Status.DRY_RUN: (),  # a shop in dry mode: written and shown, never sent, never sent later
}
WAITING = (Status.PENDING, Status.DEFERRED, Status.APPROVED, Status.GENERATED, Status.REVIEW)
PIPELINE_TASK = "seller.start_pipelines"  # by name: messaging never imports the seller
# A row that ends here never reached the customer: its place under the caps is given back.
GIVING_UP = (Status.BLOCKED, Status.CANCELLED, Status.FAILED, Status.DRY_RUN)
SHOP_OFF = "off"  # Shop.mode's value (kaspi_sync's): such a shop gets no rows at all


def create_messages(wanted: list) -> list[int]:
    """The one way outbox rows are made: one row per (order, trigger) pair, ever (the unique
    constraint decides between racing writers), the phone normalised, a `created` event each,
    and the pipeline announced after commit. Returns the ids this call created."""
    wanted = [(order, trigger) for order, trigger in wanted
              if order.shop.trigger_enabled(trigger) and order.shop.mode != SHOP_OFF]
    if not wanted:
        return []
    existing = set(
        OutboundMessage.objects.filter(order__in=[order for order, _ in wanted]).values_list("order_id", "trigger")
    )
    messages = [
        OutboundMessage(shop_id=order.shop_id, order=order, trigger=trigger, phone=customer_phone(order))
        for order, trigger in dict.fromkeys(wanted)
        if (order.pk, trigger) not in existing
    ]
    if not messages:
        return []
    try:
        with transaction.atomic():
            bulk.insert_objects(OutboundMessage, messages)
    except IntegrityError:  # another writer got in between: one by one, the unique constraint decides
        messages = [m for m in (create_one(m) for m in messages) if m is not None]
    else:
        bulk.insert_objects(MessageEvent, [MessageEvent(message=m, status=Status.PENDING, note="created") for m in messages])
    ids = [message.pk for message in messages]
    if ids:
        announce_after_commit(ids)
        log.info("outbox: %s rows created (%s to %s)", len(ids), ids[0], ids[-1])
    return ids


def create_one(message: OutboundMessage) -> OutboundMessage | None:
    message.pk, message._state.adding = None, True  # the failed batch may have numbered it
    try:
        with transaction.atomic():
            message.save(force_insert=True)
            MessageEvent.objects.create(message=message, status=Status.PENDING, note="created")
    except IntegrityError:
        return None
    return message


def customer_phone(order) -> str:
    return normalize_phone(order.customer_phone) or order.customer_phone


def announce_after_commit(message_ids: list[int]):
    """Start the pipelines of these rows once the transaction commits. The seller runs them;
    messaging names its task only. A publish that fails is logged and left to the reconciler,
    which restarts any row that has not moved: committed work never becomes an error."""
    transaction.on_commit(lambda: publish(PIPELINE_TASK, list(message_ids)))


def publish(task_name: str, *args) -> bool:
    return publish_many(task_name, [list(args)]) == 1


def publish_many(task_name: str, calls: list[list]) -> int:
    """One task message per call's arguments, all through one producer (one broker connection
    taken from the pool once, not once a message). Returns how many were published: after a
    failure the rest are left to the reconciler, as the failed one is."""
    published = 0
    try:
        with app.producer_or_acquire() as producer:
            for args in calls:
                app.send_task(task_name, args=list(args), producer=producer)
                published += 1
    except Exception as exc:  # the broker is down or refused: the rows wait for the reconciler
        log.warning("could not publish %s (%s of %s left to the reconciler): %s", task_name,
                    len(calls) - published, len(calls), exc)
    return published


def move(message_id: int, expected, new_status: str, note: str = "", **fields) -> bool:
    """Move a row from one of the `expected` statuses to `new_status`; False if another
    worker (or an earlier run) moved it first. A move that gives up the row, or clears
    `reserved_at`, releases the row's reservation after commit."""
    expected = [expected] if isinstance(expected, str) else list(expected)
    if any(new_status not in GRAPH[status] for status in expected):
        raise ValueError(f"the outbox never moves {expected} -> {new_status}")
    if "waha_message_id" in fields:
        fields["waha_raw_id"] = raw_id(fields["waha_message_id"] or "")  # acks are matched on it
    releasing = new_status in GIVING_UP or ("reserved_at" in fields and fields["reserved_at"] is None)
    if releasing:
        fields["reserved_at"] = None
    if releasing or connection.vendor != "postgresql":
        changed = move_in_transaction(message_id, expected, new_status, note, fields, releasing)
    else:
        changed = move_in_one_statement(message_id, expected, new_status, note, fields)
    if changed:
        log.info("outbox %s -> %s %s", message_id, new_status, note)
    return bool(changed)


def move_in_transaction(message_id: int, expected: list, new_status: str, note: str, fields: dict,
                        releasing: bool) -> bool:
    with transaction.atomic():
        held = None
        if releasing:
            held = (OutboundMessage.objects.select_for_update().filter(pk=message_id, status__in=expected)
                    .exclude(reserved_at=None).values("phone", "reserved_at").first())
        changed = OutboundMessage.objects.filter(pk=message_id, status__in=expected).update(
            status=new_status, updated_at=timezone.now(), **fields
        )
        if changed:
            MessageEvent.objects.create(message_id=message_id, status=new_status, note=note[:300])
            if held:
                transaction.on_commit(lambda: release(message_id, **held))
    return bool(changed)


def move_in_one_statement(message_id: int, expected: list, new_status: str, note: str, fields: dict) -> bool:
    """The conditional update and its event in one statement (PostgreSQL): one round trip, and
    atomic by itself, so no transaction of its own is needed (a move is the hottest write)."""
    now = timezone.now()
    meta, quote = OutboundMessage._meta, connection.ops.quote_name
    assignments, params = [], []
    for name, value in {"status": new_status, "updated_at": now, **fields}.items():
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    events = MessageEvent._meta.db_table
    sql = (f"WITH moved AS (UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
           f"WHERE id = %s AND status = ANY(%s) RETURNING id) "
           f"INSERT INTO {quote(events)} (message_id, status, note, at) SELECT id, %s, %s, %s FROM moved")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, message_id, [str(status) for status in expected], new_status, note[:300], now])
        return cursor.rowcount == 1


def release(message_id: int, phone: str, reserved_at):
    try:
        shop = OutboundMessage.objects.select_related("shop").get(pk=message_id).shop
        limits.release(shop, phone, message_id, reserved_at)
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
    retried = [pk for pk in message_ids
               if move(pk, Status.FAILED, Status.PENDING, note=note, reason="", attempts=0, last_error="", text="")]
    if retried:
        announce_after_commit(retried)
    return len(retried)
