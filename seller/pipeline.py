"""Each outbox row's way, top to bottom. The database drives the work: a row's status says which
step it waits for, each step takes the row id, checks the status itself, does its part and moves
the row on, then starts the next step. A step lost on the way (a broker message gone, a worker
killed, a publish that failed) is started again by the reconciler from the same map.

    pending   --check_eligibility-->  approved (place reserved), or deferred / blocked / cancelled
                (in batches: `check_batch` takes up to CHECK_BATCH rows, each moved alone)
    approved  --generate_message--->  generated (text and source written)
    generated --send_whatsapp------>  sending -> sent, or unknown / failed / deferred
"""

from messaging import outbox
from messaging.models import OutboundMessage

from . import eligibility, sending, writer

Status = OutboundMessage.Status

# The status a row waits in -> the task that moves it on (pending rows: a list of ids a task).
STEP_FOR = {
    Status.PENDING: "seller.check_eligibility_batch",
    Status.APPROVED: "seller.generate_message",
    Status.GENERATED: "seller.send_whatsapp",
}
# Pending rows one eligibility task checks: a Celery task costs about as much CPU as checking a
# row, and a batch this size takes well under a second, so the model starts on its rows soon.
CHECK_BATCH = 50


def start(message_ids: list[int], status: str = Status.PENDING):
    """Publish the step of rows waiting in `status`, all through one producer; a failed publish
    is left to the reconciler."""
    if status == Status.PENDING:
        calls = [[message_ids[i:i + CHECK_BATCH]] for i in range(0, len(message_ids), CHECK_BATCH)]
    else:
        calls = [[message_id] for message_id in message_ids]
    outbox.publish_many(STEP_FOR[status], calls)


def start_new(message_ids: list[int]):
    """New rows (a sync's batch): all but the first batch are published, so that the worker's
    other processes check them meanwhile, and the first is checked here."""
    start(message_ids[CHECK_BATCH:])
    check_batch(message_ids[:CHECK_BATCH])


def check_batch(message_ids: list[int]):
    start(eligibility.check_messages(message_ids), Status.APPROVED)


def check(message_id: int):
    check_batch([message_id])


def write(message_id: int):
    if writer.write_message(message_id):
        start([message_id], Status.GENERATED)


def send(message_id: int):
    sending.send_message(message_id)
