"""Up to three products from the shop's own catalogue that go with what was bought.

What goes with what is learnt from the shop's own orders, between categories: a category is a
complement when orders holding the bought categories hold it more often than orders in general
(association lift above 1). Products bought together with these items come first, if their
category is such a complement; then the complement categories' best sellers. The bought category's
own best sellers come only when customers buy that category again (consumables: tea, diapers,
cream), never for a durable item just bought (another phone, another kettle). Never another size,
colour or variant of an item in the order, nor anything this customer bought before.
"""

import re
from collections import defaultdict

from django.db.models import Count

from kaspi_sync.models import Order, OrderEntry, Product

FINISHED_BADLY = [Order.State.CANCELLED, Order.State.RETURNED]
MIN_TOGETHER = 1  # orders that must hold both categories before their lift counts (small shops have few)
REPEAT_SHARE = 0.15  # buyers of a category who bought it again in another order: it is consumable
MIN_BUYERS = 5
COLOURS = re.compile(
    r"^(?:ч[её]рн|бел|голуб|син|красн|з[её]л[её]н|сер(?:ый|ая|ое|ые|ого)|розов|бежев|фукси|графит|прозрачн|ж[её]лт|"
    r"фиолет|золот|серебр|black|white|blue|red|green|grey|gray|pink|gold|silver)"
)


def related_products(order: Order, limit: int = 3) -> list[Product]:
    entries = list(order.entries.all())
    shop = order.shop
    categories = {entry.category_title for entry in entries if entry.category_title}
    bought_models = {model_key(entry.name) for entry in entries}
    bought = {entry.product_id for entry in entries if entry.product_id}
    owned = set(bought)
    if order.customer_phone:
        owned |= set(
            OrderEntry.objects.filter(order__shop=shop, order__customer_phone=order.customer_phone)
            .exclude(product_id=None)
            .values_list("product_id", flat=True)
        )
    lifts = complement_lifts(order, categories)
    again = consumable(shop, categories)
    together = (
        OrderEntry.objects.filter(order__shop=shop, order__entries__product_id__in=bought)
        .exclude(order=order)
        .exclude(product_id=None)
        .exclude(order__state__in=FINISHED_BADLY)
        .values("product_id")
        .annotate(n=Count("order", distinct=True))
        .order_by("-n", "product_id")[:50]
    )
    candidates = Product.objects.filter(shop=shop, category_title__in=set(lifts) | again).exclude(pk__in=owned)
    by_id = {product.pk: product for product in candidates}
    ranked = [by_id[row["product_id"]] for row in together if row["product_id"] in by_id
              and by_id[row["product_id"]].category_title in lifts]
    ranked += sorted((p for p in by_id.values() if p.category_title in lifts),
                     key=lambda p: (-lifts[p.category_title], -p.times_sold, p.pk))
    ranked += sorted((p for p in by_id.values() if p.category_title in again), key=lambda p: (-p.times_sold, p.pk))
    chosen, seen_models = [], set(bought_models)
    for product in ranked:
        key = model_key(product.name)
        if product in chosen or key in seen_models:
            continue  # another size or colour of something bought or already suggested
        chosen.append(product)
        seen_models.add(key)
        if len(chosen) == limit:
            break
    return chosen


def model_key(name: str) -> str:
    """What variants of one model share: the name's first three words that are not a size, a
    number or a colour ("Nike Air Force 1 '07 белый 42" and "... 43" give "nike air force")."""
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", (name or "").lower()) if not COLOURS.match(w)]
    return " ".join(words[:3])


def complement_lifts(order: Order, categories: set[str]) -> dict[str, float]:
    """{category: lift} of the categories bought with `categories` (in the shop's other orders) at
    least as often as by chance."""
    if not categories:
        return {}
    shop = order.shop
    orders = Order.objects.filter(shop=shop).exclude(state__in=FINISHED_BADLY).exclude(pk=order.pk)
    total = orders.count()
    with_these = orders.filter(entries__category_title__in=categories).distinct().count()
    together = dict(
        OrderEntry.objects.filter(order__shop=shop, order__entries__category_title__in=categories)
        .exclude(category_title__in=categories)
        .exclude(category_title="")
        .exclude(order=order)
        .exclude(order__state__in=FINISHED_BADLY)
        .values_list("category_title")
        .annotate(n=Count("order", distinct=True))
    )
    together = {category: n for category, n in together.items() if n >= MIN_TOGETHER}
    alone = dict(
        OrderEntry.objects.filter(order__shop=shop, category_title__in=together)
        .exclude(order=order)
        .exclude(order__state__in=FINISHED_BADLY)
        .values_list("category_title")
        .annotate(n=Count("order", distinct=True))
    )
    lifts = {category: n * total / (with_these * alone[category]) for category, n in together.items() if alone.get(category)}
    return {category: lift for category, lift in lifts.items() if lift >= 1}


def consumable(shop, categories: set[str]) -> set[str]:
    """Those of `categories` that customers buy again, in orders of their own."""
    if not categories:
        return set()
    rows = (
        OrderEntry.objects.filter(order__shop=shop, category_title__in=categories)
        .exclude(order__customer_phone="")
        .exclude(order__state__in=FINISHED_BADLY)
        .values_list("category_title", "order__customer_phone")
        .annotate(n=Count("order", distinct=True))
    )
    buyers, again = defaultdict(int), defaultdict(int)
    for category, _, n in rows:
        buyers[category] += 1
        again[category] += n > 1
    return {c for c in buyers if buyers[c] >= MIN_BUYERS and again[c] / buyers[c] >= REPEAT_SHARE}
