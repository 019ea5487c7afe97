"""Nothing is lost between the steps: the reconciler hands unhandled replies to the seller again,
publishes answers that were never sent, and never resends one that may have left."""

import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from config import redis
from seller.conversations import delivery
from seller.models import Answer

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def queued(queue: str) -> list[tuple[str, list]]:
    """(task name, args) of the messages waiting in a Redis broker queue."""
    messages = [json.loads(raw) for raw in redis.client().lrange(queue, 0, -1)]
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def test_the_reconciler_picks_up_what_a_lost_task_left(chat):
    an_hour_ago = timezone.now() - timedelta(hours=1)
    reply = chat.customer_writes("Когда привезут?", at=an_hour_ago)  # its task was lost: never handled
    ready = Answer.objects.create(shop=chat.shop, phone=PHONE, session="default", kind="answer", text="Здравствуйте!")
    Answer.objects.filter(pk=ready.pk).update(updated_at=an_hour_ago)
    sending = Answer.objects.create(shop=chat.shop, phone=PHONE, session="default", kind="answer", text="Да!",
                                    status="sending")
    Answer.objects.filter(pk=sending.pk).update(updated_at=an_hour_ago)

    done = delivery.reconcile()

    assert done == {"replies": 1, "answers": 1, "answers_unknown": 1}
    assert ("seller.handle_reply", [reply]) in queued("llm")
    assert ("seller.send_answer", [ready.pk]) in queued("send")
    assert Answer.objects.get(pk=sending.pk).status == "unknown"
    assert chat.sandbox.sent() == []
