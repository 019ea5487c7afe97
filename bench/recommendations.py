"""Benchmark: do the suggestions go with the purchase? Offline, on an order history where the
complements are known (sandbox/complements.py).

    python bench/recommendations.py            (or: make bench)

Fills its own PostgreSQL database (BENCH_RECS_DATABASE_URL, default .../aiseller_recs_bench,
dropped and created afresh; its name must contain "bench") with one shop's history, then asks
`seller.recommendations.related_products` for the last orders' suggestions and counts:
`precision_at_3` (suggestions in a category that complements an item bought), `substitute_share`
(another variant of an item bought, or another item of a durable item's category) and
`coverage` (orders that got at least one suggestion). Written to bench/results/recommendations.json.
"""

import json
import os
import random
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import fresh_db  # noqa: E402  (a sibling module: benchmarks run as `python bench/NAME.py`)
DATABASE_URL = os.environ.get("BENCH_RECS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aiseller_recs_bench")
os.environ.update(DATABASE_URL=DATABASE_URL, DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Zq3mJ2l3oWcD6bq0y1o0e9V8rY3bHq2hYw5x9m8kQ2c=")

ORDERS, CUSTOMERS, EVALUATED, SEED = 3000, 1200, 300, 11
RESULTS = ROOT / "bench" / "results" / "recommendations.json"




def fill(history):
    from django.db.models import Count
    from django.utils import timezone

    from kaspi_sync.models import Order, OrderEntry, Product, Shop
    from sandbox import complements

    shop = Shop.objects.create(name="Bench shop", kaspi_token="bench")
    products = {item.code: Product.objects.create(shop=shop, code=item.code, name=item.name,
                                                   category_title=item.category) for item in complements.ITEMS}
    start = timezone.now() - timedelta(days=365)
    orders, entries = [], []
    for number, (customer, basket) in enumerate(history):
        orders.append(Order(shop=shop, kaspi_id=f"bench{number}", code=str(600_000_000 + number),
                            state=Order.State.DELIVERED, created_at_kaspi=start + timedelta(hours=number * 2),
                            customer_first_name="Айгерим", customer_phone=f"+7701{customer:07d}"))
    Order.objects.bulk_create(orders, batch_size=1000)
    for order, (_, basket) in zip(orders, history):
        for index, (item, quantity) in enumerate(basket):
            entries.append(OrderEntry(order=order, product=products[item.code], entry_number=index, name=item.name,
                                      category_title=item.category, quantity=quantity))
    OrderEntry.objects.bulk_create(entries, batch_size=2000)
    for row in OrderEntry.objects.values("product_id").annotate(n=Count("order", distinct=True)):
        Product.objects.filter(pk=row["product_id"]).update(times_sold=row["n"])
    return orders


def measure(orders):
    from kaspi_sync.models import Order
    from sandbox import complements
    from seller.recommendations import related_products

    by_code = {item.code: item for item in complements.ITEMS}
    suggested = correct = substitutes = covered = 0
    examples = []
    for order in orders[-EVALUATED:]:
        order = Order.objects.get(pk=order.pk)
        bought = [by_code[entry.product.code] for entry in order.entries.select_related("product")]
        suggestions = [by_code[product.code] for product in related_products(order)]
        suggested += len(suggestions)
        covered += bool(suggestions)
        correct += sum(complements.is_complement(item, bought) for item in suggestions)
        substitutes += sum(complements.is_substitute(item, bought) for item in suggestions)
        if len(examples) < 8:
            examples.append({"bought": [item.name for item in bought], "suggested": [item.name for item in suggestions]})
    return {
        "orders_in_history": len(orders), "orders_evaluated": EVALUATED, "suggestions": suggested,
        "precision_at_3": round(correct / suggested, 4) if suggested else None,
        "substitute_share": round(substitutes / suggested, 4) if suggested else None,
        "coverage": round(covered / EVALUATED, 4),
        "examples": examples,
    }


def main():
    fresh_db.recreate(DATABASE_URL)
    import django

    django.setup()
    from django.core.management import call_command

    from sandbox import complements

    call_command("migrate", verbosity=0)
    history = complements.history(random.Random(SEED), ORDERS, CUSTOMERS)
    results = measure(fill(history))
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "examples"}, ensure_ascii=False))


if __name__ == "__main__":
    main()
