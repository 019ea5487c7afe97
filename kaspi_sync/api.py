"""`GET /kaspi/get_sells_info/<shop_id>`: a shop's recent orders and sales, with each order's messages."""

from datetime import timedelta

from django.db.models import Count, Prefetch, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from access import scope
from access.permissions import named
from messaging.models import OutboundMessage
from messaging.phones import mask

from .models import Order, OrderEntry, Shop

NOT_SOLD = (Order.State.CANCELLED, Order.State.RETURNED)


class SellsQuery(serializers.Serializer):
    days = serializers.IntegerField(default=30, min_value=1, max_value=366, help_text="Orders created in the last N days")
    limit = serializers.IntegerField(default=100, min_value=1, max_value=1000, help_text="How many orders to list")


class MessageStatusSerializer(serializers.ModelSerializer):
    outbox_id = serializers.IntegerField(source="pk")

    class Meta:
        model = OutboundMessage
        fields = ["outbox_id", "trigger", "status", "reason", "source", "not_before", "sent_at", "delivered_at",
                  "read_at", "replied_at"]


class EntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEntry
        fields = ["name", "category_title", "quantity", "base_price", "total_price"]


class OrderSerializer(serializers.ModelSerializer):
    customer_phone = serializers.SerializerMethodField(help_text="Masked: the last two digits")
    entries = EntrySerializer(many=True)
    messages = MessageStatusSerializer(many=True)

    class Meta:
        model = Order
        fields = ["id", "kaspi_id", "code", "state", "kaspi_status", "total_price", "delivery_mode", "created_at_kaspi",
                  "delivered_at", "customer_first_name", "customer_phone", "entries", "messages"]

    def get_customer_phone(self, order) -> str:
        return mask(order.customer_phone)


class TotalsSerializer(serializers.Serializer):
    orders = serializers.IntegerField()
    sold_orders = serializers.IntegerField(help_text="Neither cancelled nor returned")
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Sum of the sold orders, KZT")
    items_sold = serializers.IntegerField()
    average_order = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    by_state = serializers.DictField(child=serializers.IntegerField())
    messages_by_status = serializers.DictField(child=serializers.IntegerField())


class SellsInfoSerializer(serializers.Serializer):
    shop_id = serializers.IntegerField()
    shop_name = serializers.CharField()
    since = serializers.DateTimeField()
    totals = TotalsSerializer()
    orders = OrderSerializer(many=True)


class SellsInfoView(APIView):
    permission_classes = [named("access.view_sales")]

    @extend_schema(parameters=[SellsQuery],
                   responses={200: SellsInfoSerializer, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT,
                              404: OpenApiTypes.OBJECT},
                   description="Needs access.view_sales; another shop than a merchant's own is a 404.")
    def get(self, request, shop_id: int):
        shop = get_object_or_404(scope.limit(Shop.objects.all(), request.user, "pk"), pk=shop_id)
        query = SellsQuery(data=request.query_params.dict())  # a plain dict: "?days=" is an error
        query.is_valid(raise_exception=True)
        since = timezone.now() - timedelta(days=query.validated_data["days"])
        orders = shop.orders.filter(created_at_kaspi__gte=since)
        sold = orders.exclude(state__in=NOT_SOLD)
        sold_totals = sold.aggregate(count=Count("pk"), revenue=Sum("total_price"))
        revenue = sold_totals["revenue"] or 0
        recent = orders.order_by("-created_at_kaspi").prefetch_related(
            "entries", Prefetch("messages", queryset=OutboundMessage.objects.order_by("trigger"))
        )[: query.validated_data["limit"]]
        totals = {
            "orders": orders.count(),
            "sold_orders": sold_totals["count"],
            "revenue": revenue,
            "items_sold": OrderEntry.objects.filter(order__in=sold).aggregate(n=Sum("quantity"))["n"] or 0,
            "average_order": revenue / sold_totals["count"] if sold_totals["count"] else None,
            "by_state": counts(orders, "state"),
            "messages_by_status": counts(OutboundMessage.objects.filter(order__in=orders), "status"),
        }
        data = {"shop_id": shop.pk, "shop_name": shop.name, "since": since, "totals": totals, "orders": recent}
        return Response(SellsInfoSerializer(data).data)


def counts(queryset, field: str) -> dict:
    return dict(queryset.order_by().values_list(field).annotate(n=Count("pk")))
