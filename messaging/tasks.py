from celery import shared_task

from . import inbound, sending


@shared_task(name="messaging.send_whatsapp", bind=True, max_retries=None)
def send_whatsapp(self, message_id: int):
    # Retries are bounded by the row's own attempts (WAHA_SEND_MAX_ATTEMPTS); pace turns are not errors.
    try:
        sending.send_message(message_id)
    except sending.SendLater as exc:
        raise self.retry(countdown=exc.seconds, exc=exc)


@shared_task(name="messaging.process_inbound")
def process_inbound(inbound_id: int):
    # No retries to run out of: a reply WAHA cannot help with now stays unprocessed, with the
    # reason on its row, and the sweep (inbound.retry_unprocessed) queues it again by time.
    inbound.process(inbound_id)


@shared_task(name="messaging.start_pipelines")
def start_pipelines(message_ids: list[int]):
    """The pipelines of many new outbox rows (a sync's batch), started by a worker rather
    than one publish per row inside the sync."""
    from seller.pipeline import start_pipeline

    for message_id in message_ids:
        start_pipeline(message_id)
