"""The broker as operators find it: with RabbitMQ (TEST_BROKER_URL=amqp://...; `.ci/run` runs
the pipeline and fault tests a second time so), the project's queues are durable quorum queues,
so a queued task outlives a broker restart and is redelivered as soon as its worker dies."""

import pytest
from django.conf import settings

from config.celery_app import app

pytestmark = pytest.mark.skipif(not settings.BROKER_IS_RABBITMQ, reason="RabbitMQ only: TEST_BROKER_URL=amqp://...")


def test_the_queues_are_durable_quorum_queues():
    from kombu import Queue

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in settings.CELERY_TASK_QUEUES:
            queue(channel).declare()
            # Declaring it again as a classic queue is refused: the broker holds it as quorum.
            with pytest.raises(Exception, match="PRECONDITION_FAILED"):
                Queue(queue.name, queue.exchange, routing_key=queue.routing_key, durable=True,
                      queue_arguments={"x-queue-type": "classic"})(conn.channel()).declare()
            assert queue.durable and queue.exchange.type == "topic"
