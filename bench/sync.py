"""Benchmark: ingest 10,000 sandbox orders against downloading the same pages with plain requests.

    python bench/sync.py            (or: make bench)

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default .../aiseller_bench, dropped and
created afresh; its name must contain "bench") and its own Redis DB (BENCH_REDIS_URL, default DB 15,
of which only the project's keys and queues are removed). The sandbox runs in a process of its
own, as Kaspi would. Download and ingestion alternate for BENCH_ROUNDS rounds (5); the medians
and their ratio go to bench/results/sync.json.
"""

import json
import os
import platform
import subprocess
import sys
import time
from datetime import timedelta
from statistics import median
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import fresh_db  # noqa: E402  (a sibling module: benchmarks run as `python bench/NAME.py`)
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aiseller_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.update(DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL, CELERY_BROKER_URL=REDIS_URL,
                  DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Zq3mJ2l3oWcD6bq0y1o0e9V8rY3bHq2hYw5x9m8kQ2c=")

ORDERS, DAYS, TOKEN, SHOP_NAME = 10_000, 31, "bench-shop-token", "Benchmark shop"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
RESULTS = ROOT / "bench" / "results" / "sync.json"




def start_sandbox():
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True)
    kaspi_url = process.stdout.readline().strip().split("=", 1)[1]  # KASPI_API_URL=...
    return process, kaspi_url, kaspi_url.split("/kaspi/")[0]


def download(kaspi_url, now):
    """The same pages the sync reads on a first sync, with plain requests and nothing else."""
    import requests

    from kaspi_sync.client import JSON_API, PAGE_SIZE, STATES, to_ms, windows

    session = requests.Session()
    session.headers.update({"X-Auth-Token": TOKEN, "Accept": JSON_API, "Content-Type": JSON_API})
    orders = 0
    for state in STATES:
        for start, end in windows(now - timedelta(days=DAYS), now):
            page, pages = 0, 1
            while page < pages:
                body = session.get(f"{kaspi_url}/orders", timeout=60, params={
                    "page[number]": page, "page[size]": PAGE_SIZE, "filter[orders][state]": state,
                    "filter[orders][creationDate][$ge]": to_ms(start),
                    "filter[orders][creationDate][$le]": to_ms(end), "include[orders]": "entries"}).json()
                orders += len(body["data"])
                pages, page = body["meta"]["pageCount"], page + 1
    return orders


def clean_redis():
    from config import redis

    client = redis.client()
    names = [name for pattern in (redis.PREFIX + "*", "_kombu.*", "unacked*") for name in client.scan_iter(pattern)]
    names += [queue for queue in ("sync", "pipeline", "llm", "send", "celery") if client.exists(queue)]
    if names:
        client.delete(*names)


def main():
    fresh_db.recreate(DATABASE_URL)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from kaspi_sync.models import Order, OrderEntry, Shop
    from kaspi_sync.sync import sync_shop

    call_command("migrate", verbosity=0)
    clean_redis()
    process, kaspi_url, sandbox_url = start_sandbox()
    downloads, ingests, repeats = [], [], []
    try:
        import requests

        requests.post(f"{sandbox_url}/_sandbox/kaspi/shops", json={"token": TOKEN, "orders": ORDERS, "seed": 1},
                      timeout=120).raise_for_status()
        settings.KASPI_API_URL = kaspi_url
        now = timezone.now()
        # Rounds alternate the two, so a busy machine weighs on both alike; medians are reported.
        for _ in range(ROUNDS):
            Shop.objects.filter(name=SHOP_NAME).delete()
            clean_redis()
            shop = Shop.objects.create(name=SHOP_NAME, kaspi_token=TOKEN)

            started = time.perf_counter()
            downloaded = download(kaspi_url, now)
            downloads.append(time.perf_counter() - started)

            started = time.perf_counter()
            summary = sync_shop(shop, days=DAYS, now=now)
            ingests.append(time.perf_counter() - started)

            shop.refresh_from_db()
            started = time.perf_counter()
            again = sync_shop(shop)
            repeats.append(time.perf_counter() - started)
            assert downloaded == summary.seen == summary.new == Order.objects.filter(shop=shop).count() == ORDERS
            assert again.new == again.triggers == 0
            items = OrderEntry.objects.filter(order__shop=shop).count()
    finally:
        process.terminate()
        process.wait(10)
        clean_redis()

    download_seconds, ingest_seconds = median(downloads), median(ingests)
    result = {
        "orders": ORDERS,
        "rounds": ROUNDS,
        "download_seconds": round(download_seconds, 2),
        "ingest_seconds": round(ingest_seconds, 2),
        "ratio": round(ingest_seconds / download_seconds, 2),
        "target_ratio": 1.5,
        "each_round": [{"download": round(d, 2), "ingest": round(i, 2)} for d, i in zip(downloads, ingests)],
        "items": items,
        "triggers_created": summary.triggers,
        "repeat_sync_seconds": round(median(repeats), 2),
        "machine": f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs",
        "measured_at": timezone.now().isoformat(timespec="seconds"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"median of {ROUNDS}: download {result['download_seconds']} s, ingest {result['ingest_seconds']} s, "
          f"ratio {result['ratio']} (target <= 1.5); repeat sync {result['repeat_sync_seconds']} s -> {RESULTS}")


if __name__ == "__main__":
    main()
