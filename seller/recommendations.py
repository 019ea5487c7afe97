"""Up to three products from the shop's own catalogue that go with what was bought."""

from django.db.models import Count

from kaspi_sync.models import Order, OrderEntry, Product


def related_products(order: Order, limit: int = 3) -> list[Product]:
    """Bought together with these items by other customers first, then the same category's best
    sellers; never what this order holds nor what this customer bought before."""
    entries = list(order.entries.all())
    bought = [entry.product_id for entry in entries if entry.product_id]
    categories = {entry.category_title for entry in entries if entry.category_title}
    owned = set(bought)
    if order.customer_phone:
        owned |= set(
            OrderEntry.objects.filter(order__shop=order.shop, order__customer_phone=order.customer_phone)
            .exclude(product_id=None)
            .values_list("product_id", flat=True)
        )
    together = (
        OrderEntry.objects.filter(order__shop=order.shop, order__entries__product_id__in=bought)
        .exclude(order=order)
        .exclude(product_id__in=owned)
        .exclude(product_id=None)
        .exclude(order__state__in=[Order.State.CANCELLED, Order.State.RETURNED])
        .values("product_id")
        .annotate(n=Count("order", distinct=True))
        .order_by("-n", "product_id")[:limit]
    )
    ids = [row["product_id"] for row in together]
    if len(ids) < limit and categories:
        same_category = (
            Product.objects.filter(shop=order.shop, category_title__in=categories)
            .exclude(pk__in=owned | set(ids))
            .order_by("-times_sold", "pk")
            .values_list("pk", flat=True)[: limit - len(ids)]
        )
        ids += list(same_category)
    products = Product.objects.in_bulk(ids)
    return [products[pk] for pk in ids if pk in products]
