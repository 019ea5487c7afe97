from celery import shared_task

from . import inbound


@shared_task(name="messaging.process_inbound")
def process_inbound(inbound_id: int):
    # No retries to run out of: a reply WAHA cannot help with now stays unprocessed, with the
    # reason on its row, and the sweep (inbound.retry_unprocessed) queues it again by time.
    inbound.process(inbound_id)

