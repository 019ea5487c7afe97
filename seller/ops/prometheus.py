"""`GET /metrics` in Prometheus' text format, read at each scrape from where the truth is:
the outbox (pipeline outcomes), the broker (queue lengths), Redis (task durations recorded by
every worker, see instrumentation.py)."""

import json
from functools import lru_cache

import redis as redis_lib
from django.conf import settings
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from messaging.models import MessageEvent, OutboundMessage

from seller.models import Answer, HandledReply, Handoff

from . import health, instrumentation, metrics, sales

PRIORITY_SEPARATOR = "\x06\x16"  # kombu's Redis transport keeps priorities 1-9 in "<queue>\x06\x16<n>"


@lru_cache(maxsize=4)
def broker_client(url: str) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)


class PipelineCollector:
    def collect(self):
        rows = GaugeMetricFamily("aiseller_outbox_messages", "Outbox rows by their current status",
                                 labels=["shop", "trigger", "status", "reason"])
        for row in OutboundMessage.objects.order_by().values("shop_id", "trigger", "status", "reason").annotate(n=Count("pk")):
            rows.add_metric([str(row["shop_id"]), row["trigger"], row["status"], row["reason"]], row["n"])
        yield rows

        waiting = GaugeMetricFamily("aiseller_outbox_waiting", "Rows waiting in each status for the next step",
                                    labels=["status"])
        oldest = GaugeMetricFamily("aiseller_outbox_oldest_age_seconds",
                                   "How long the oldest waiting row of each status has not moved", labels=["status"])
        for row in health.backlog():
            waiting.add_metric([row["status"]], row["rows"])
            oldest.add_metric([row["status"]], row["oldest_age_seconds"])
        yield waiting
        yield oldest

        moves = CounterMetricFamily("aiseller_outbox_transitions", "Status changes in the outbox history, by the status reached",
                                    labels=["status"])
        for status, n in MessageEvent.objects.order_by().values_list("status").annotate(n=Count("pk")):
            moves.add_metric([status], n)
        yield moves

        written = OutboundMessage.objects.filter(generated_at__isnull=False).order_by()
        generated = CounterMetricFamily("aiseller_messages_generated", "Messages written, by source (ai or fallback)",
                                        labels=["source"])
        for source, n in written.values_list("source").annotate(n=Count("pk")):
            generated.add_metric([source], n)
        yield generated
        repairs = CounterMetricFamily("aiseller_llm_repairs", "Replies that broke a check and were asked once more, "
                                      "by what came of it (ai: sent as rewritten, fallback)", labels=["source"])
        for source, n in written.exclude(repair_reason="").values_list("source").annotate(n=Count("pk")):
            repairs.add_metric([source], n)
        yield repairs
        tokens = written.aggregate(prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"))
        used = CounterMetricFamily("aiseller_llm_tokens", "Tokens used by generation", labels=["kind"])
        for kind, n in tokens.items():
            used.add_metric([kind], n or 0)
        yield used
        yield from sales_metrics()


def sales_metrics():
    """Does it sell, over all history: attributed orders and revenue, and the two groups."""
    everything = metrics.Window(since=None, start=None, end=timezone.now())
    orders = GaugeMetricFamily("aiseller_attributed_orders", "Orders credited to a message (not cancelled or returned)",
                               labels=["shop", "trigger"])
    revenue = GaugeMetricFamily("aiseller_attributed_revenue_tenge", "What the credited orders brought",
                                labels=["shop", "trigger"])
    for (shop, trigger), (n, total) in sales.attributed(everything, ("shop", "trigger")).items():
        orders.add_metric([str(shop), trigger], n)
        revenue.add_metric([str(shop), trigger], total)
    yield orders
    yield revenue
    customers = GaugeMetricFamily("aiseller_lift_customers", "Customers messaged or held out (first reached), and "
                                  "whether they bought again within SELLER_ATTRIBUTION_DAYS",
                                  labels=["shop", "group", "bought_again"])
    for group in sales.ARMS:
        for (shop,), found in sorted(sales.groups(group, everything, (), ("shop_id",)).items()):
            customers.add_metric([str(shop), group, "yes"], found.buyers)
            customers.add_metric([str(shop), group, "no"], found.customers - found.buyers)
    yield customers


class QueueCollector:
    def collect(self):
        url = settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return
        client = broker_client(url)
        lengths = GaugeMetricFamily("aiseller_celery_queue_length", "Tasks waiting in each queue", labels=["queue"])
        for queue in settings.CELERY_TASK_QUEUES:
            names = [queue.name] + [f"{queue.name}{PRIORITY_SEPARATOR}{n}" for n in range(1, 10)]
            lengths.add_metric([queue.name], sum(client.llen(name) for name in names))
        yield lengths
        yield GaugeMetricFamily("aiseller_celery_unacked", "Tasks taken by workers and not yet acknowledged",
                                value=client.hlen("unacked"))


class TaskCollector:
    def collect(self):
        histogram = HistogramMetricFamily("aiseller_task_duration_seconds", "How long each task ran", labels=["task"])
        for task, recorded in sorted(instrumentation.durations().items()):
            buckets = [(str(bound), recorded.get(str(bound), 0)) for bound in instrumentation.BUCKETS]
            buckets.append(("+Inf", recorded.get("+Inf", 0)))
            histogram.add_metric([task], buckets, sum_value=recorded.get("sum", 0))
        yield histogram
        runs = CounterMetricFamily("aiseller_tasks", "Tasks run, by their final state", labels=["task", "state"])
        for (task, state), n in sorted(instrumentation.task_states().items()):
            runs.add_metric([task, state], n)
        yield runs


class ConversationCollector:
    def collect(self):
        replies = CounterMetricFamily("aiseller_replies_handled", "Customers' replies handled, by outcome and class",
                                      labels=["outcome", "label"])
        for outcome, label, n in HandledReply.objects.order_by().values_list("outcome", "label").annotate(n=Count("pk")):
            replies.add_metric([outcome, label], n)
        yield replies
        handoffs = GaugeMetricFamily("aiseller_handoffs", "Handoffs by status and reason", labels=["status", "reason"])
        for status, reason, n in Handoff.objects.order_by().values_list("status", "reason").annotate(n=Count("pk")):
            handoffs.add_metric([status, reason], n)
        yield handoffs
        answers = CounterMetricFamily("aiseller_answers", "Messages written back in conversations, by kind and status",
                                      labels=["kind", "status"])
        for kind, status, n in Answer.objects.order_by().values_list("kind", "status").annotate(n=Count("pk")):
            answers.add_metric([kind, status], n)
        yield answers
        first = metrics.conversations(metrics.window(days=1))
        for name, help_text in (("first_answer_seconds", "From a customer's reply to our first message back"),
                                ("handoff_close_seconds", "From a handoff's opening to its close")):
            gauge = GaugeMetricFamily(f"aiseller_{name}", f"{help_text}, over the last 24 hours", labels=["stat"])
            for stat, value in first[name].items():
                if value is not None:
                    gauge.add_metric([stat], value)
            yield gauge


REGISTRY = CollectorRegistry()
for collector in (PipelineCollector(), QueueCollector(), TaskCollector(), ConversationCollector()):
    REGISTRY.register(collector)


class PlainTextRenderer(BaseRenderer):
    """Lets scrapers that ask for text/plain in; errors still come out as JSON text."""

    media_type = "text/plain"
    format = "txt"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, (bytes, str)) else json.dumps(data)


class PrometheusView(APIView):
    renderer_classes = [JSONRenderer, PlainTextRenderer]

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR},
                   parameters=[OpenApiParameter("format", exclude=True)])
    def get(self, request):
        return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
