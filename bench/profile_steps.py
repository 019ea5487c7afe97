"""Where a message's CPU goes: the pipeline's three steps run in this process, one message
after the other, under cProfile, with no latency in the stand-ins.

    python bench/profile_steps.py [--orders 200] [--top 40] [--plain]

Prints the queries each step makes per message and the functions that cost the most, and keeps
the queries and CPU per message under "runs" (--label) in bench/results/profile_steps.json. Uses
the pipeline benchmark's database and Redis DB (see bench/pipeline.py), afresh; BENCH_APP_DIR
profiles another checkout's code (for "before").
"""

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pipeline as bench  # noqa: E402  (sets the environment up as the benchmark does)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative", help="pstats order: cumulative, tottime, ...")
    parser.add_argument("--label", default="latest", help="the run's name in bench/results/profile_steps.json")
    parser.add_argument("--show-queries", action="store_true", help="print each step's SQL for the first message")
    parser.add_argument("--plain", action="store_true",
                        help="no cProfile: the steps' own CPU per message (cProfile's overhead left out)")
    args = parser.parse_args()
    bench.fresh_db.recreate(bench.DATABASE_URL)
    run = bench.Bench(argparse.Namespace(model_latency_ms=0, waha_latency_ms=0))
    try:
        profile(run, args)
    finally:
        run.close()
        bench.clean_redis()


def profile(run, args):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kaspi_sync.sync import sync_shop
    from messaging.models import OutboundMessage
    from seller import eligibility, pipeline, sending, writer

    call_command("migrate", verbosity=0)
    bench.clean_redis()
    shop = run.setup_shop()
    for _ in range(args.orders):
        run.new_order()
    sync_shop(shop)
    ids = list(OutboundMessage.objects.order_by("pk").values_list("pk", flat=True))
    steps = {"check_eligibility": eligibility.check_message, "generate_message": writer.write_message,
             "send_whatsapp": sending.send_message}
    # Eligibility as the workers run it: in batches where the checkout (BENCH_APP_DIR) has them.
    batch = getattr(pipeline, "CHECK_BATCH", 1)
    calls = {name: [[message_id] for message_id in ids] for name in steps}
    if batch > 1:
        steps["check_eligibility"] = eligibility.check_messages
        calls["check_eligibility"] = [[ids[i:i + batch]] for i in range(0, len(ids), batch)]
    profiler, queries, seconds = cProfile.Profile(), {}, {}
    for name, step in steps.items():
        started = time.process_time()
        with CaptureQueriesContext(connection) as captured:
            if not args.plain:
                profiler.enable()
            for call in calls[name]:
                step(*call)
            profiler.disable()
        seconds[name] = time.process_time() - started
        queries[name] = len(captured.captured_queries) / len(ids)
        if args.show_queries:
            per_message = max(1, len(captured.captured_queries) // len(calls[name]))
            print(f"--- {name}")
            for query in captured.captured_queries[:per_message]:
                print("   ", query["sql"][:160])
    sent = OutboundMessage.objects.filter(status="sent").count()
    cpu = "plain" if args.plain else "profiled"
    print(f"{len(ids)} messages, {sent} sent")
    for name in steps:
        print(f"{name}: {seconds[name] * 1000 / len(ids):.1f} ms CPU ({cpu}), {queries[name]:.1f} queries per message")
    save(args.label, {name: {"queries_per_message": round(queries[name], 1),
                             f"cpu_ms_per_message_{cpu}": round(seconds[name] * 1000 / len(ids), 1)}
                      for name in steps} | {"messages": len(ids), "app": str(bench.APP)})
    if args.plain:
        return
    stats = pstats.Stats(profiler).sort_stats(args.sort)
    stats.print_stats(args.top)


def save(label: str, figures: dict):
    path = bench.ROOT / "bench" / "results" / "profile_steps.json"
    results = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    results["runs"][label] = figures | {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"-> {path} [{label}]")


if __name__ == "__main__":
    main()

