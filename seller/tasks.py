"""The pipeline's tasks: thin, each over a plain function (`seller.pipeline`, `seller.reconciler`)."""

from celery import shared_task
from django.conf import settings
from django.db import transaction

from messaging.models import OutboundMessage

from . import attribution, eligibility, pipeline, reconciler, sending
from .conversations import delivery, replies

Status = OutboundMessage.Status


@shared_task(name="seller.start_pipelines")
def start_pipelines(message_ids: list[int]):
    """New rows announced by messaging (a sync's batch, a retry): checked in batches."""
    pipeline.start_new(message_ids)


@shared_task(name="seller.check_eligibility_batch")
def check_eligibility_batch(message_ids: list[int]):
    pipeline.check_batch(message_ids)


@shared_task(name="seller.check_eligibility")
def check_eligibility(message_id: int):
    """One row: the name of an earlier release (tasks queued before a deploy), kept."""
    pipeline.check(message_id)


@shared_task(name="seller.generate_message", soft_time_limit=settings.GENERATION_TASK_SOFT_LIMIT,
             time_limit=settings.GENERATION_TASK_SOFT_LIMIT + 30)
def generate_message(message_id: int):
    pipeline.write(message_id)


@shared_task(name="seller.send_whatsapp", bind=True, max_retries=None)
def send_whatsapp(self, message_id: int):
    # Retries are bounded by the row's own attempts (WAHA_SEND_MAX_ATTEMPTS); pace turns are not errors.
    try:
        pipeline.send(message_id)
    except sending.SendLater as exc:
        raise self.retry(countdown=exc.seconds, exc=exc)


@shared_task(name="seller.enqueue_due_messages")
def enqueue_due_messages():
    """Every minute (beat): deferred rows that are due start their pipeline again (those due
    together, e.g. at the end of quiet hours, in batches)."""
    released = eligibility.release_due()
    for status in (Status.PENDING, Status.GENERATED):
        ids = [message_id for message_id, back_to in released if back_to == status]
        if ids:
            transaction.on_commit(lambda ids=ids, status=status: pipeline.start(ids, status))


@shared_task(name="seller.reconcile")
def reconcile():
    """Every minute (beat): restart what has not moved, settle what may have been sent."""
    return reconciler.reconcile()


# Names of an earlier release: tasks queued under them before a deploy still run.
@shared_task(name="messaging.send_whatsapp")
def send_whatsapp_old_name(message_id: int):
    pipeline.start([message_id], Status.GENERATED)


@shared_task(name="messaging.start_pipelines")
def start_pipelines_old_name(message_ids: list[int]):
    pipeline.start(message_ids)


@shared_task(name="seller.handle_reply", bind=True, max_retries=20)
def handle_reply(self, inbound_id: int):
    """A customer's reply (announced by messaging): classify, answer or hand off."""
    try:
        replies.handle(inbound_id)
    except replies.ChatBusy as exc:
        raise self.retry(countdown=5, exc=exc)


@shared_task(name="seller.send_answer", bind=True, max_retries=None)
def send_answer(self, answer_id: int):
    # Bounded by the answer's own attempts (WAHA_SEND_MAX_ATTEMPTS); pace turns are not errors.
    try:
        delivery.send_answer(answer_id)
    except sending.SendLater as exc:
        raise self.retry(countdown=exc.seconds, exc=exc)


@shared_task(name="seller.attribute_orders")
def attribute_orders():
    """Every two minutes (beat): new orders credited to the message before them."""
    return attribution.attribute_orders()
