"""Each outbox row's way, top to bottom. The database drives the work: a row's status says which
step it waits for, each step takes the row id, checks the status itself, does its part and moves
the row on, then starts the next step. A step lost on the way (a broker message gone, a worker
killed, a publish that failed) is started again by the reconciler from the same map.

    pending   --check_eligibility-->  approved (place reserved), or deferred / blocked / cancelled
    approved  --generate_message--->  generated (text and source written)
    generated --send_whatsapp------>  sending -> sent, or unknown / failed / deferred
"""

from messaging import outbox
from messaging.models import OutboundMessage

from . import eligibility, sending, writer

Status = OutboundMessage.Status

# The status a row waits in -> the task that moves it on.
STEP_FOR = {
    Status.PENDING: "seller.check_eligibility",
    Status.APPROVED: "seller.generate_message",
    Status.GENERATED: "seller.send_whatsapp",
}


def start(message_ids: list[int], status: str = Status.PENDING):
    """Publish the step of rows waiting in `status`; a failed publish is left to the reconciler."""
    for message_id in message_ids:
        outbox.publish(STEP_FOR[status], message_id)


def check(message_id: int):
    if eligibility.check_message(message_id):
        start([message_id], Status.APPROVED)


def write(message_id: int):
    if writer.write_message(message_id):
        start([message_id], Status.GENERATED)


def send(message_id: int):
    sending.send_message(message_id)
