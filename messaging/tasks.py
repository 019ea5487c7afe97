from celery import shared_task

from . import inbound, sending


@shared_task(name="messaging.send_whatsapp", bind=True, max_retries=None)
def send_whatsapp(self, message_id: int):
    # Retries are bounded by the row's own attempts (WAHA_SEND_MAX_ATTEMPTS); pace turns are not errors.
    try:
        sending.send_message(message_id)
    except sending.SendLater as exc:
        raise self.retry(countdown=exc.seconds, exc=exc)


@shared_task(name="messaging.process_inbound", bind=True, max_retries=5)
def process_inbound(self, inbound_id: int):
    try:
        inbound.process(inbound_id)
    except inbound.LidUnavailable as exc:
        raise self.retry(countdown=30 * 2**self.request.retries, exc=exc)


@shared_task(name="messaging.start_pipelines")
def start_pipelines(message_ids: list[int]):
    """The pipelines of many new outbox rows (a sync's batch), started by a worker rather
    than one publish per row inside the sync."""
    from seller.pipeline import start_pipeline

    for message_id in message_ids:
        start_pipeline(message_id)
