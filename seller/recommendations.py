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
import time
from collections import defaultdict

from django.conf import settings
from django.db import connection
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


# The shop's buying patterns change slowly: each process counts them at most this often per
# shop and set of categories (or products) bought, not for every message.
_counted: dict = {}


def counted(what: str, shop_id: int, key: frozenset, count):
    """`count()`, or what it gave for the same question less than
    SELLER_RECOMMENDATION_STATS_SECONDS ago in this process."""
    now, ttl = time.monotonic(), settings.SELLER_RECOMMENDATION_STATS_SECONDS
    found = _counted.get((what, shop_id, key))
    if found is not None and now - found[0] < ttl:
        return found[1]
    value = count()
    if ttl > 0:
        if len(_counted) > 10_000:  # many shops and baskets: start again rather than grow
            _counted.clear()
        _counted[(what, shop_id, key)] = (now, value)
    return value


def forget_counts():
    _counted.clear()


def related_products(order: Order, limit: int = 3, entries: list | None = None) -> list[Product]:
    """`entries`: the order's items, when the caller has read them."""
    entries = list(order.entries.all()) if entries is None else entries
    shop = order.shop  # the outbox row's own, when it asks (prompts.order_data)
    categories = frozenset(entry.category_title for entry in entries if entry.category_title)
    bought_models = {model_key(entry.name) for entry in entries}
    bought = frozenset(entry.product_id for entry in entries if entry.product_id)
    owned = set(bought)
    if order.customer_phone:
        owned |= bought_before(shop.pk, order.customer_phone)
    lifts = complement_lifts(order, categories)
    again = consumable(shop, categories)
    together = counted("together", shop.pk, bought, lambda: bought_together(shop, bought))
    wanted = frozenset(lifts) | again
    candidates = counted("products", shop.pk, wanted,
                         lambda: list(Product.objects.filter(shop=shop, category_title__in=wanted)))
    by_id = {product.pk: product for product in candidates if product.pk not in owned}
    ranked = [by_id[product_id] for product_id in together if product_id in by_id
              and by_id[product_id].category_title in lifts]
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


# Asked for every message written: as SQL of its own it costs a third of what the ORM spent
# building the same query (a join, an exclusion, the entries' default order) each time.
BOUGHT_BEFORE = (f"SELECT DISTINCT e.product_id FROM {OrderEntry._meta.db_table} e "
                 f"JOIN {Order._meta.db_table} o ON o.id = e.order_id "
                 "WHERE o.shop_id = %s AND o.customer_phone = %s AND e.product_id IS NOT NULL")


def bought_before(shop_id: int, phone: str) -> set[int]:
    """The products this customer bought in the shop (this order's too)."""
    with connection.cursor() as cursor:
        cursor.execute(BOUGHT_BEFORE, [shop_id, phone])
        return {product_id for (product_id,) in cursor.fetchall()}


def model_key(name: str) -> str:
    """What variants of one model share: the name's first three words that are not a size, a
    number or a colour ("Nike Air Force 1 '07 белый 42" and "... 43" give "nike air force")."""
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", (name or "").lower()) if not COLOURS.match(w)]
    return " ".join(words[:3])


def bought_together(shop, bought: frozenset) -> list[int]:
    """Products of other orders holding any of `bought`, most often first (the order itself holds
    only what it bought, which is left out, so it need not be excluded)."""
    rows = (
        OrderEntry.objects.filter(order__shop=shop, order__entries__product_id__in=bought)
        .exclude(product_id=None)
        .exclude(product_id__in=bought)
        .exclude(order__state__in=FINISHED_BADLY)
        .values("product_id")
        .annotate(n=Count("order", distinct=True))
        .order_by("-n", "product_id")[:50]
    )
    return [row["product_id"] for row in rows]


def complement_lifts(order: Order, categories: frozenset) -> dict[str, float]:
    """{category: lift} of the categories bought with `categories` (in the shop's other orders) at
    least as often as by chance."""
    if not categories:
        return {}
    total, with_these, together, alone = counted("lifts", order.shop_id, categories,
                                                 lambda: category_counts(order.shop_id, categories))
    # The counts take in every order of the shop; this one's own share comes off here. It holds
    # only `categories`, so it adds to no `together` or `alone` count.
    if order.pk is not None and order.state not in FINISHED_BADLY:
        total, with_these = total - 1, with_these - 1
    lifts = {category: n * total / (with_these * alone[category]) for category, n in together.items() if alone.get(category)}
    return {category: lift for category, lift in lifts.items() if lift >= 1}


def category_counts(shop_id: int, categories: frozenset) -> tuple[int, int, dict, dict]:
    """The shop's orders, those holding any of `categories`, and by other category: orders
    holding it with `categories` and orders holding it at all (cancelled and returned left out)."""
    orders = Order.objects.filter(shop_id=shop_id).exclude(state__in=FINISHED_BADLY)
    total = orders.count()
    with_these = orders.filter(entries__category_title__in=categories).distinct().count()
    together = dict(
        OrderEntry.objects.filter(order__shop_id=shop_id, order__entries__category_title__in=categories)
        .exclude(category_title__in=categories)
        .exclude(category_title="")
        .exclude(order__state__in=FINISHED_BADLY)
        .values_list("category_title")
        .annotate(n=Count("order", distinct=True))
    )
    together = {category: n for category, n in together.items() if n >= MIN_TOGETHER}
    alone = dict(
        OrderEntry.objects.filter(order__shop_id=shop_id, category_title__in=together)
        .exclude(order__state__in=FINISHED_BADLY)
        .values_list("category_title")
        .annotate(n=Count("order", distinct=True))
    )
    return total, with_these, together, alone


def consumable(shop, categories: frozenset) -> frozenset:
    """Those of `categories` that customers buy again, in orders of their own."""
    if not categories:
        return frozenset()
    return counted("again", shop.pk, categories, lambda: repeat_bought(shop, categories))


def repeat_bought(shop, categories: frozenset) -> frozenset:
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
    return frozenset(c for c in buyers if buyers[c] >= MIN_BUYERS and again[c] / buyers[c] >= REPEAT_SHARE)
