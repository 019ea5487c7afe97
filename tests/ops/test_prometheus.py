"""`GET /metrics`: Prometheus text, read from the outbox, the broker and the workers' task timings."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kaspi_sync.tasks import sync_all_shops
from messaging.models import OutboundMessage

from ..helpers import wait_until

PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"


def scrape(api) -> dict:
    """{(sample name, frozenset of labels): value}"""
    response = api.get("/metrics", HTTP_ACCEPT=PROMETHEUS_ACCEPT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.mark.django_db(transaction=True)
def test_it_counts_the_pipeline_and_times_the_tasks_of_a_real_worker(sandbox, shop, celery_worker, api):
    order = sandbox.control("kaspi/orders", token=shop.kaspi_token, phone="7011234567")
    sync_all_shops.delay()
    wait_until(lambda: OutboundMessage.objects.filter(order__code=order["code"], status="sent").exists(), what="the send")
    wait_until(lambda: scrape(api).get(("aiseller_tasks_total", frozenset({("task", "seller.send_whatsapp"),
                                                                            ("state", "SUCCESS")}))),
               what="the send task's timing")

    metrics = scrape(api)

    assert metrics[("aiseller_outbox_transitions_total", frozenset({("status", "sent")}))] == 1
    assert metrics[("aiseller_outbox_messages", frozenset({("shop", str(shop.pk)), ("trigger", "POST_PURCHASE"),
                                                           ("status", "sent"), ("reason", "")}))] == 1
    assert metrics[("aiseller_messages_generated_total", frozenset({("source", "ai")}))] == 1
    assert metrics[("aiseller_llm_tokens_total", frozenset({("kind", "prompt")}))] > 0
    assert metrics[("aiseller_outbox_waiting", frozenset({("status", "pending")}))] == 0
    assert metrics[("aiseller_outbox_oldest_age_seconds", frozenset({("status", "sending")}))] == 0
    # One new row: start_pipelines checks it itself (a batch of one).
    for task in ("kaspi_sync.sync_shop", "seller.start_pipelines", "seller.generate_message", "seller.send_whatsapp"):
        assert metrics[("aiseller_task_duration_seconds_count", frozenset({("task", task)}))] >= 1
        assert metrics[("aiseller_task_duration_seconds_sum", frozenset({("task", task)}))] > 0
        assert metrics[("aiseller_task_duration_seconds_bucket", frozenset({("task", task), ("le", "+Inf")}))] >= 1


def test_it_shows_the_tasks_waiting_in_each_queue(api):
    sync_all_shops.delay()
    sync_all_shops.delay()

    metrics = scrape(api)

    assert metrics[("aiseller_celery_queue_length", frozenset({("queue", "sync")}))] == 2
    assert metrics[("aiseller_celery_queue_length", frozenset({("queue", "send")}))] == 0


@pytest.mark.django_db
def test_it_counts_the_repairs_by_what_came_of_them(api):
    from django.utils import timezone

    from kaspi_sync.models import Order, Shop

    shop = Shop.objects.create(name="Repairs", kaspi_token="t-repairs")
    for n, (source, reason) in enumerate([("ai", "number:3"), ("fallback", "price:₸"), ("ai", ""), ("ai", "link:x.kz")]):
        order = Order.objects.create(shop=shop, kaspi_id=f"r{n}", code=str(n), created_at_kaspi=timezone.now())
        OutboundMessage.objects.create(shop=shop, order=order, trigger="POST_PURCHASE", source=source,
                                       repair_reason=reason, generated_at=timezone.now())

    metrics = scrape(api)

    assert metrics[("aiseller_llm_repairs_total", frozenset({("source", "ai")}))] == 2
    assert metrics[("aiseller_llm_repairs_total", frozenset({("source", "fallback")}))] == 1
