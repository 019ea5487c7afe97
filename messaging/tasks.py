import logging

from celery import shared_task

from . import outbox, sending
from .models import OutboundMessage

log = logging.getLogger(__name__)
MAX_SEND_RETRIES = 50  # pace turns and WAHA outages; a row still unsent then fails visibly


@shared_task(name="messaging.send_whatsapp", bind=True, max_retries=MAX_SEND_RETRIES)
def send_whatsapp(self, message_id: int):
    try:
        sending.send_message(message_id)
    except sending.SendLater as exc:
        if self.request.retries >= self.max_retries:
            Status = OutboundMessage.Status
            outbox.move(message_id, Status.GENERATED, Status.FAILED, note=str(exc), reason="retries_exhausted")
            return
        raise self.retry(countdown=exc.seconds, exc=exc)


@shared_task(name="messaging.start_pipelines")
def start_pipelines(message_ids: list[int]):
    """The pipelines of many new outbox rows (a sync's batch), started by a worker rather
    than one publish per row inside the sync."""
    from seller.pipeline import start_pipeline

    for message_id in message_ids:
        start_pipeline(message_id)
