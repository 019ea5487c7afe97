from celery import shared_task

from . import inbound


@shared_task(name="messaging.process_inbound", bind=True, max_retries=5)
def process_inbound(self, inbound_id: int):
    try:
        inbound.process(inbound_id)
    except inbound.LidUnavailable as exc:
        raise self.retry(countdown=30 * 2**self.request.retries, exc=exc)
