import pytest

from config import redis
from config.celery_app import app
from kaspi_sync.tasks import sync_shop
from seller.tasks import (check_eligibility, check_eligibility_batch, generate_message, reconcile, send_whatsapp,
                          send_whatsapp_old_name)

QUEUES = ("sync", "pipeline", "llm", "send")


@pytest.fixture
def declared_queues():
    """Declare every queue and its binding, as a worker consuming all of them does."""
    with app.connection_for_write() as connection:
        for queue in app.amqp.queues.values():
            queue(connection.default_channel).declare()


@pytest.mark.parametrize(
    "task, queue",
    [(sync_shop, "sync"), (check_eligibility, "pipeline"), (check_eligibility_batch, "pipeline"),
     (generate_message, "llm"), (send_whatsapp, "send"),
     (send_whatsapp_old_name, "send")],
)
def test_each_task_lands_in_its_own_queue_once(declared_queues, task, queue):
    task.delay(1)
    lengths = {name: redis.client().llen(name) for name in QUEUES}
    assert lengths == {name: int(name == queue) for name in QUEUES}


def test_the_reconciler_runs_on_the_pipeline_queue(declared_queues):
    reconcile.delay()
    assert {name: redis.client().llen(name) for name in QUEUES} == {name: int(name == "pipeline") for name in QUEUES}
