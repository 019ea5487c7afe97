"""Up to three products from the shop's own catalogue that go with what was bought."""

from django.db.models import Count

from kaspi_sync.models import Order, OrderEntry, Product


def related_products(order: Order, limit: int = 3) -> list[Product]:
    bought = [entry.product_id for entry in order.entries.all() if entry.product_id]
    categories = {entry.category_title for entry in order.entries.all() if entry.category_title}
    # Bought together with these items by other customers first, then the same category.
    together = (
        OrderEntry.objects.filter(order__shop=order.shop, order__entries__product_id__in=bought)
        .exclude(product_id__in=bought)
        .exclude(product_id=None)
        .values("product_id")
        .annotate(n=Count("order", distinct=True))
        .order_by("-n", "product_id")[:limit]
    )
    ids = [row["product_id"] for row in together]
    if len(ids) < limit and categories:
        same_category = (
            Product.objects.filter(shop=order.shop, category_title__in=categories)
            .exclude(pk__in=bought + ids)
            .order_by("-times_sold", "pk")
            .values_list("pk", flat=True)[: limit - len(ids)]
        )
        ids += list(same_category)
    products = Product.objects.in_bulk(ids)
    return [products[pk] for pk in ids if pk in products]
