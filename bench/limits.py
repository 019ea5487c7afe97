"""How long the eligibility check takes with the cap and cooldown in Redis, and what a rebuild
after Redis lost its keys costs. Real PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL);
a database `bench_<name>` is created and dropped.

    python bench/limits.py [--rows 2000]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

database = connections["default"].settings_dict
database["TEST"]["NAME"] = "bench_" + database["NAME"]  # never the tests' own database


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return (time.perf_counter() - started) * 1000


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    pick = lambda share: samples[min(len(samples) - 1, int(share * len(samples)))]  # noqa: E731
    return f"median {statistics.median(samples):.2f} ms, p95 {pick(0.95):.2f} ms, max {samples[-1]:.2f} ms"


def main(rows: int):
    from kaspi_sync.models import Order, Shop
    from messaging.models import OutboundMessage
    from seller import eligibility
    from tests.policy.conftest import forget_redis_keys

    shop = Shop.objects.create(name="Bench", kaspi_token="bench-token-000001", max_daily_messages=rows * 2)
    now = timezone.now()
    ids = []
    for index in range(rows):
        phone = f"+7701{index:07d}"
        order = Order.objects.create(shop=shop, kaspi_id=f"b{index}", code=str(index), created_at_kaspi=now,
                                     customer_phone=phone)
        ids.append(OutboundMessage.objects.create(shop=shop, order=order, trigger="POST_PURCHASE", phone=phone).pk)

    forget_redis_keys()
    checks = [timed(eligibility.check_message, pk, now) for pk in ids]
    allowed = OutboundMessage.objects.filter(reserved_at__isnull=False).count()
    print(f"eligibility check, {rows} customers of one shop: {percentiles(checks)} ({allowed} allowed)")

    # Redis loses everything; the next check rebuilds the shop's day from `rows` reservations.
    order = Order.objects.create(shop=shop, kaspi_id="after", code="after", created_at_kaspi=now, customer_phone="+77050000001")
    late = OutboundMessage.objects.create(shop=shop, order=order, trigger="POST_PURCHASE", phone="+77050000001")
    forget_redis_keys()
    print(f"first check after Redis lost its keys (rebuild of {allowed} reservations): "
          f"{timed(eligibility.check_message, late.pk, now):.2f} ms")
    forget_redis_keys()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    options = parser.parse_args()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        main(options.rows)
    finally:
        teardown_databases(old, verbosity=0)
