from celery import shared_task
from django.db import transaction

from . import eligibility, writer
from .pipeline import start_pipeline


@shared_task(name="seller.check_eligibility")
def check_eligibility(message_id: int):
    eligibility.check_message(message_id)


@shared_task(name="seller.generate_message", soft_time_limit=120, time_limit=150)
def generate_message(message_id: int):
    writer.write_message(message_id)


@shared_task(name="seller.enqueue_due_messages")
def enqueue_due_messages():
    """Every minute (beat): deferred rows that are due start their pipeline again."""
    for message_id in eligibility.release_due():
        transaction.on_commit(lambda message_id=message_id: start_pipeline(message_id))
