"""The AI seller's HTTP API: metrics, a new counting period, a manual ORDER_DELIVERED, status."""

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from access import audit, scope
from access.permissions import named
from kaspi_sync.models import Order, Shop
from messaging import outbox
from messaging.models import Trigger
from messaging.phones import mask
from seller.models import Handoff

from . import health, metrics


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class MetricsQuery(serializers.Serializer):
    shop = serializers.IntegerField(required=False, min_value=1, help_text="Only this shop")
    days = serializers.IntegerField(
        required=False, min_value=1, max_value=3660, help_text="The last N days instead of the current period"
    )


class LatencySerializer(serializers.Serializer):
    avg = serializers.IntegerField(allow_null=True)
    max = serializers.IntegerField(allow_null=True)
    p95 = serializers.IntegerField(allow_null=True, required=False, help_text="Only on the totals")


class TokensSerializer(serializers.Serializer):
    prompt = serializers.IntegerField()
    completion = serializers.IntegerField()
    cost_usd = serializers.FloatField(help_text="At OPENAI_INPUT_PRICE_PER_1M / OPENAI_OUTPUT_PRICE_PER_1M")


class RepairsSerializer(serializers.Serializer):
    asked = serializers.IntegerField(help_text="Replies that broke a check, so the model was asked once more")
    repaired = serializers.IntegerField(help_text="Of those, sent as the model rewrote them")


class FiguresSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    replied = serializers.IntegerField()
    failed = serializers.IntegerField()
    unknown = serializers.IntegerField(help_text="Crashed while sending: maybe sent, never retried")
    deferred = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    blocked = serializers.DictField(child=serializers.IntegerField(), help_text="Blocked messages by reason")
    blocked_total = serializers.IntegerField()
    failed_by_reason = serializers.DictField(child=serializers.IntegerField())
    generated = serializers.IntegerField()
    fallback = serializers.IntegerField(help_text="Messages written from the fallback template")
    fallback_share = serializers.FloatField(allow_null=True)
    repairs = RepairsSerializer()
    success_rate = serializers.FloatField(allow_null=True, help_text="sent / (sent + failed + unknown)")
    generation_latency_ms = LatencySerializer()
    tokens = TokensSerializer()


class AttributionSerializer(serializers.Serializer):
    window_days = serializers.FloatField(help_text="SELLER_ATTRIBUTION_DAYS")
    orders = serializers.IntegerField(help_text="Orders placed within the window after a delivered message")
    revenue = serializers.FloatField(help_text="Their total, in tenge (cancelled and returned orders excluded)")


class CustomersSerializer(serializers.Serializer):
    customers = serializers.IntegerField()
    repeat_rate = serializers.FloatField(allow_null=True, help_text="Share who bought again within the window")
    revenue_per_customer = serializers.FloatField(allow_null=True, help_text="Their orders in the window / customers")


class RevenueLiftSerializer(serializers.Serializer):
    absolute = serializers.FloatField(allow_null=True, help_text="Revenue per customer, messaged - held out (tenge)")
    ci95 = serializers.ListField(child=serializers.FloatField(), allow_null=True, min_length=2, max_length=2,
                                 help_text="[low, high] of `absolute` (Welch's t interval)")


class LiftSerializer(serializers.Serializer):
    absolute = serializers.FloatField(allow_null=True, help_text="Repeat rate messaged - held out")
    relative = serializers.FloatField(allow_null=True, help_text="absolute / the held-out repeat rate")
    ci95 = serializers.ListField(child=serializers.FloatField(), allow_null=True, min_length=2, max_length=2,
                                 help_text="[low, high] of `absolute` (Newcombe's hybrid score interval)")
    enough_data = serializers.BooleanField(help_text="False: not enough data yet (the interval is too wide)")
    revenue_per_customer = RevenueLiftSerializer()


class SalesSerializer(serializers.Serializer):
    attribution = AttributionSerializer()
    messaged = CustomersSerializer()
    holdout = CustomersSerializer()
    lift = LiftSerializer()


class VariantFiguresSerializer(SalesSerializer):
    trigger = serializers.CharField()
    variant = serializers.CharField()
    sent = serializers.IntegerField()
    replied = serializers.IntegerField()
    reply_rate = serializers.FloatField(allow_null=True)
    reply_rate_ci95 = serializers.ListField(child=serializers.FloatField(), allow_null=True)


class ShopFiguresSerializer(FiguresSerializer, SalesSerializer):
    shop_id = serializers.IntegerField()
    shop_name = serializers.CharField()


class TriggerFiguresSerializer(FiguresSerializer, SalesSerializer):
    trigger = serializers.CharField()


class DayFiguresSerializer(FiguresSerializer):
    date = serializers.DateField()
    attribution = AttributionSerializer()


class DurationSerializer(serializers.Serializer):
    avg = serializers.IntegerField(allow_null=True)
    max = serializers.IntegerField(allow_null=True)


class ConversationsSerializer(serializers.Serializer):
    replies = serializers.IntegerField(help_text="Customers' replies the seller handled")
    by_outcome = serializers.DictField(child=serializers.IntegerField())
    by_class = serializers.DictField(child=serializers.IntegerField())
    answered_automatically = serializers.IntegerField()
    handed_off = serializers.IntegerField(help_text="Handoffs opened")
    handoffs_by_reason = serializers.DictField(child=serializers.IntegerField())
    handoffs_open = serializers.IntegerField(help_text="Open now, whatever the period")
    handoffs_closed = serializers.IntegerField()
    first_answer_seconds = DurationSerializer(help_text="From the customer's reply to our first message back")
    handoff_close_seconds = DurationSerializer(help_text="From a handoff's opening to its close")


class MetricsSerializer(FiguresSerializer, SalesSerializer):
    conversations = ConversationsSerializer()
    since = serializers.DateTimeField(allow_null=True, help_text="Start of the counting period; null: never reset")
    start = serializers.DateTimeField(allow_null=True, source="from", help_text="Start of what is counted here")
    end = serializers.DateTimeField(source="to")
    shop = serializers.IntegerField(allow_null=True)
    by_shop = ShopFiguresSerializer(many=True)
    by_trigger = TriggerFiguresSerializer(many=True)
    by_variant = VariantFiguresSerializer(many=True, help_text="Only triggers that run named variants")
    by_day = DayFiguresSerializer(many=True, help_text="Days in SELLER_TIMEZONE")


class MetricsView(APIView):
    permission_classes = [named("access.view_metrics")]

    @extend_schema(parameters=[MetricsQuery],
                   responses={200: MetricsSerializer, 400: OpenApiTypes.OBJECT, 403: ErrorSerializer, 404: ErrorSerializer},
                   description="Needs access.view_metrics; a merchant's figures cover only their shops.")
    def get(self, request):
        query = MetricsQuery(data=request.query_params.dict())  # a plain dict: "?shop=" is an error, not "all"
        query.is_valid(raise_exception=True)
        shop = query.validated_data.get("shop")
        if shop and not scope.limit(Shop.objects.filter(pk=shop), request.user, "pk").exists():
            raise NotFound(f"no shop {shop}")
        window = metrics.window(shop_id=query.validated_data.get("shop"), days=query.validated_data.get("days"),
                                shop_ids=scope.shop_ids(request.user))
        return Response(MetricsSerializer(metrics.summary(window)).data)


class SinceSerializer(serializers.Serializer):
    since = serializers.DateTimeField()


class ResetMetricsView(APIView):
    permission_classes = [named("access.reset_metrics", every_shop=True)]

    @extend_schema(request=None, responses={201: SinceSerializer, 403: ErrorSerializer},
                   description="Needs access.reset_metrics and every shop: the period is the installation's.")
    def post(self, request):
        since = metrics.reset()
        audit.record(request.user, audit.Action.METRICS_RESET, target="API", detail=f"since {since.isoformat()}")
        return Response(SinceSerializer({"since": since}).data, status=201)


class TriggerResultSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False: the message existed already; nothing new was made")
    order_id = serializers.IntegerField()
    order_code = serializers.CharField()
    shop_id = serializers.IntegerField()
    outbox_id = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)


class TriggerDeliveredView(APIView):
    permission_classes = [named("access.trigger_delivered")]

    @extend_schema(
        request=None,
        responses={200: TriggerResultSerializer, 201: TriggerResultSerializer, 403: ErrorSerializer,
                   404: ErrorSerializer, 409: ErrorSerializer},
        description="Fires ORDER_DELIVERED for one order (its Kaspi id or its code), once: a second call "
        "returns the existing message. The message then goes through the policy like any other. "
        "Needs access.trigger_delivered; a merchant finds only their shops' orders.",
    )
    def post(self, request, order_id: str):
        orders = scope.limit(Order.objects.select_related("shop"), request.user, "shop")
        matches = list(orders.filter(Q(kaspi_id=order_id) | Q(code=order_id))[:2])
        if not matches:
            raise NotFound(f"no order with the Kaspi id or code {order_id!r}")
        if len(matches) > 1:
            return Response({"detail": f"{order_id!r} names orders of several shops; use the Kaspi order id"}, status=409)
        order = matches[0]
        if order.state in (Order.State.CANCELLED, Order.State.RETURNED):
            return Response({"detail": f"order {order.code} is {order.state}: nothing is sent"}, status=409)
        if not order.shop.trigger_enabled(Trigger.ORDER_DELIVERED):
            return Response({"detail": f"ORDER_DELIVERED is turned off for shop {order.shop_id}"}, status=409)
        created = outbox.create_messages([(order, Trigger.ORDER_DELIVERED)])
        message = order.messages.get(trigger=Trigger.ORDER_DELIVERED)
        if created:
            audit.record(request.user, audit.Action.TRIGGER_DELIVERED, shop_id=order.shop_id, target=f"order {order.code}",
                         detail=f"outbox #{message.pk}")
        result = {"created": bool(created), "order_id": order.pk, "order_code": order.code, "shop_id": order.shop_id,
                  "outbox_id": message.pk, "status": message.status, "reason": message.reason}
        return Response(TriggerResultSerializer(result).data, status=201 if created else 200)


class HandoffsQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Handoff.Status.choices, required=False)
    shop = serializers.IntegerField(required=False, min_value=1, help_text="Only this shop")


class HandoffSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    shop_id = serializers.IntegerField()
    shop_name = serializers.CharField(source="shop.name")
    order_id = serializers.IntegerField(allow_null=True)
    order_code = serializers.CharField(source="order.code", allow_null=True, default=None)
    customer_phone = serializers.SerializerMethodField(help_text="Masked: the last two digits")
    reason = serializers.CharField()
    status = serializers.CharField()
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_customer_phone(self, handoff) -> str:
        return mask(handoff.phone)


class HandoffsView(APIView):
    permission_classes = [named("seller.view_handoff")]

    @extend_schema(parameters=[HandoffsQuery], responses={200: HandoffSerializer(many=True), 400: OpenApiTypes.OBJECT,
                                                          403: ErrorSerializer, 404: ErrorSerializer},
                   description="Needs seller.view_handoff; a merchant sees only their shops' handoffs.")
    def get(self, request):
        query = HandoffsQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        handoffs = scope.limit(Handoff.objects.select_related("shop", "order").order_by("-opened_at"), request.user, "shop")
        if "status" in query.validated_data:
            handoffs = handoffs.filter(status=query.validated_data["status"])
        if shop := query.validated_data.get("shop"):
            if not scope.limit(Shop.objects.filter(pk=shop), request.user, "pk").exists():
                raise NotFound(f"no shop {shop}")
            handoffs = handoffs.filter(shop_id=shop)
        return Response(HandoffSerializer(handoffs[:500], many=True).data)


class CheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    error = serializers.CharField(required=False)


class WorkersSerializer(CheckSerializer):
    seen = serializers.ListField(child=serializers.CharField(), required=False)


class WahaSessionSerializer(serializers.Serializer):
    session = serializers.CharField()
    status = serializers.CharField(help_text="WAHA's own (WORKING, SCAN_QR_CODE, ...) or UNREACHABLE")
    error = serializers.CharField(required=False)


class OpenAISerializer(serializers.Serializer):
    configured = serializers.BooleanField()
    model = serializers.CharField()
    custom_base_url = serializers.BooleanField()


class ShopStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    token_status = serializers.CharField()
    last_synced_at = serializers.DateTimeField(allow_null=True)
    last_sync_error = serializers.CharField(allow_blank=True)
    last_sync_error_at = serializers.DateTimeField(allow_null=True)
    sync_failures = serializers.IntegerField(help_text="Failed syncs in a row")
    sync_paused_until = serializers.DateTimeField(allow_null=True, help_text="Kaspi answered 403 not about the token")
    quarantined_orders = serializers.IntegerField(help_text="Orders that could not be parsed or saved (admin)")


class WebhookSessionSerializer(serializers.Serializer):
    session = serializers.CharField()
    last_received_at = serializers.DateTimeField(help_text="The last webhook accepted from this WAHA session")
    count = serializers.IntegerField()


class WebhookRefusalSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    last_at = serializers.DateTimeField()


class WebhooksSerializer(CheckSerializer):
    hmac_key_set = serializers.BooleanField(required=False)
    sessions = WebhookSessionSerializer(many=True, required=False)
    refused = serializers.DictField(child=WebhookRefusalSerializer(), required=False,
                                    help_text="By why: no_hmac_key, bad_signature, bad_signature_header, malformed, ...")
    refused_total = serializers.IntegerField(required=False)
    replies_pending = serializers.IntegerField(required=False, help_text="Replies not processed yet (admin: Replies)")
    lid_opt_outs_unmapped = serializers.IntegerField(
        required=False, help_text="Opt-outs held against an @lid whose phone WAHA has not given yet")


class BacklogSerializer(serializers.Serializer):
    status = serializers.CharField()
    rows = serializers.IntegerField()
    oldest_age_seconds = serializers.IntegerField()


class StatusSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Database, Redis and the broker answer")
    database = CheckSerializer()
    redis = CheckSerializer()
    broker = CheckSerializer()
    workers = WorkersSerializer()
    waha = WahaSessionSerializer(many=True)
    openai = OpenAISerializer()
    shops = ShopStatusSerializer(many=True)
    webhooks = WebhooksSerializer()
    outbox = BacklogSerializer(many=True)


class StatusView(APIView):
    permission_classes = [named("access.view_status")]

    @extend_schema(responses={200: StatusSerializer, 403: ErrorSerializer, 503: StatusSerializer},
                   description="Needs access.view_status; a merchant sees only their shops and their WAHA sessions.")
    def get(self, request):
        report = health.status(shop_ids=scope.shop_ids(request.user))
        return Response(StatusSerializer(report).data, status=200 if report["ok"] else 503)
