"""Each outbox row's way: eligibility, then generation, then sending. Steps take the row id
and check the row's status themselves, so a step that finds nothing to do stops quietly."""

from celery import chain


def start_pipeline(message_id: int):
    from messaging.tasks import send_whatsapp

    from .tasks import check_eligibility, generate_message

    chain(check_eligibility.si(message_id), generate_message.si(message_id), send_whatsapp.si(message_id)).apply_async()
