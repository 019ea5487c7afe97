"""Benchmark: N orders from the sandbox's Kaspi to WhatsApp, through real workers started as
the Procfile starts them.

    python bench/pipeline.py [--orders 2000] [--model-latency-ms 800] [--waha-latency-ms 100]
                             [--arrival-seconds 180] [--pace] [--pace-only] [--label NAME]   (or: make bench)

1. Throughput: N new orders wait in Kaspi; one sync starts them all; the run ends when the
   last message has left. Reported: orders/s end to end, the bound the Procfile's concurrency
   sets at these latencies, the CPU the workers (and the sandbox) used per message, each
   process's peak RSS, and how long a naive sequential loop over the same calls would take.
2. Order to message (--arrival-seconds, 0 skips it): beat runs as the Procfile runs it, with the
   schedule in the database; orders appear one a second; p50 and p95 of the time from an order
   appearing in Kaspi to its message leaving.
3. With --pace: the pace limiter's accuracy with 1, 4 and 8 worker processes (slow: minutes).
   --pace-only runs only this part: its figures go under "runs" (--label) and replace the
   top-level "pace"; the other top-level figures stay those of the last full run.

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default .../aiseller_bench_pipeline,
dropped and created afresh; its name must contain "bench"), its own Redis DB (BENCH_REDIS_URL,
default DB 15; only the project's keys and queues are removed) and BENCH_BROKER_URL (default:
the Redis DB). Writes bench/results/pipeline.json: the run's figures, and under "runs" each
labelled run (--label, default "latest"; e.g. "before" for the figures before tuning).
"""

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# BENCH_APP_DIR: another checkout's code and Procfile to measure (e.g. main, for "before"); the
# sandbox and this script stay this checkout's.
APP = Path(os.environ.get("BENCH_APP_DIR", ROOT)).resolve()
sys.path.insert(0, str(APP))
import fresh_db  # noqa: E402  (a sibling module: benchmarks run as `python bench/NAME.py`)
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aiseller_bench_pipeline")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", REDIS_URL)
os.environ.update(DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL, CELERY_BROKER_URL=BROKER_URL,
                  DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING")
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Zq3mJ2l3oWcD6bq0y1o0e9V8rY3bHq2hYw5x9m8kQ2c=")

TOKEN, SHOP_NAME, WAHA_KEY = "bench-pipeline-token", "Benchmark shop", "sandbox-waha-key"
RESULTS = ROOT / "bench" / "results" / "pipeline.json"
WAHA_CALLS_PER_MESSAGE = 2  # check-exists, then sendText
DONE = ("sent", "delivered", "read")




def clean_redis():
    from config import redis

    client = redis.client()
    names = [name for pattern in (redis.PREFIX + "*", ":1:aiseller*", "aiseller*", "_kombu.*", "unacked*")
             for name in client.scan_iter(pattern)]
    names += [queue for queue in ("sync", "pipeline", "llm", "send", "celery") if client.exists(queue)]
    if names:
        client.delete(*names)


def start_sandbox(model_ms, waha_ms):
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--ack-delay", "0", "--waha-api-key", WAHA_KEY,
         "--llm-latency-ms", str(model_ms), "--waha-latency-ms", str(waha_ms)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    kaspi_url = process.stdout.readline().strip().split("=", 1)[1]  # KASPI_API_URL=...
    return process, kaspi_url.split("/kaspi/")[0]


def procfile() -> dict[str, str]:
    lines = (APP / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith("#"))


class Processes:
    """Procfile entries started as the Procfile starts them, each in its own process group."""

    def __init__(self, app_env: dict, log_dir: Path):
        self.env, self.log_dir, self.started = app_env, log_dir, {}

    def start(self, name: str, extra: str = "", label: str | None = None):
        command = procfile()[name] + extra
        label = label or name
        log = open(self.log_dir / f"{label}.log", "ab")
        # Through a shell, as honcho runs a Procfile; exec, so the pid is the process itself.
        self.started[label] = subprocess.Popen(["/bin/sh", "-c", f"exec {command}"], cwd=APP, env=self.env, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True)
        return self.started[label]

    def stop(self, label: str | None = None):
        import signal

        for name in [label] if label else list(self.started):
            process = self.started.pop(name)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)


def wait_for_workers(app, count: int, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= count:
            return
    sys.exit(f"the workers did not answer within {timeout} s: see their logs")


def process_tree(process) -> list:
    import psutil

    root = psutil.Process(process.pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(processes) -> float:
    return sum(cpu_split(processes).values())


def cpu_split(processes) -> dict[str, float]:
    """User and system CPU seconds of these processes (system time is where a contended GIL or
    lock shows, with the context switches below)."""
    import psutil

    total = {"user": 0.0, "system": 0.0}
    for proc in processes:
        try:
            times = proc.cpu_times()
            total["user"] += times.user
            total["system"] += times.system
        except psutil.NoSuchProcess:
            pass
    return total


def context_switches(processes) -> dict[str, int]:
    """Voluntary and involuntary context switches of every thread of these processes
    (/proc/PID/status counts the main thread only)."""
    total = {"voluntary": 0, "involuntary": 0}
    for proc in processes:
        for status in Path(f"/proc/{proc.pid}/task").glob("*/status"):
            try:
                lines = status.read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    name, value = line.split(":")
                    total["voluntary" if name.startswith("vol") else "involuntary"] += int(value)
    return total


def services() -> dict[str, list]:
    """PostgreSQL's and Redis's server processes on this machine (the whole cluster: the machine
    is quiet while the benchmark runs, and its PostgreSQL backends come and go)."""
    import psutil

    found = {"postgresql": [], "redis": []}
    for proc in psutil.process_iter(["name"]):
        name = proc.info["name"] or ""
        if name.startswith("postgres"):
            found["postgresql"].append(proc)
        elif name.startswith("redis-server"):
            found["redis"].append(proc)
    return found


def machine_seconds() -> dict[str, float]:
    """CPU seconds the machine's CPUs spent busy (all processes and the kernel), and stolen: on a
    virtual machine, time the host gave to others (machines of one kind differ most by it)."""
    import psutil

    times = psutil.cpu_times()
    steal = getattr(times, "steal", 0.0)
    return {"busy": sum(times) - times.idle - getattr(times, "iowait", 0.0) - steal, "steal": steal}


def peak_rss_mib(proc) -> float:
    """VmHWM: the process's peak resident set, as the kernel kept it."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def concurrency(command: str) -> int:
    parts = shlex.split(command)
    return int(parts[parts.index("--concurrency") + 1]) if "--concurrency" in parts else os.cpu_count()


def worker_entries() -> dict[str, str]:
    """The Procfile's Celery workers, by name."""
    return {name: command for name, command in procfile().items() if " worker " in f" {command} "}


def consuming(queue: str) -> str:
    """The command of the Procfile's worker that takes `queue`."""
    for command in worker_entries().values():
        parts = shlex.split(command)
        if queue in parts[parts.index("--queues") + 1].split(","):
            return command
    raise LookupError(f"no Procfile worker takes the {queue} queue")


def procfile_bound(model_s: float, waha_s: float) -> dict:
    """What the Procfile's concurrency allows at these latencies, if the CPUs were free: the llm
    pool writes `llm` messages per model latency; the worker pool's processes each spend the WAHA
    calls' latency on a send (eligibility and the sync share them, and cost little time)."""
    llm = concurrency(consuming("llm")) / model_s if model_s else float("inf")
    send = concurrency(consuming("send")) / (WAHA_CALLS_PER_MESSAGE * waha_s) if waha_s else float("inf")
    return {"orders_per_s": round(min(llm, send), 1), "llm_pool": round(llm, 1), "send_pool": round(send, 1)}


def naive_loop_seconds(sandbox_url: str, orders: list[dict], total: int) -> dict:
    """One process, one order after the other: read it from Kaspi, ask the model, check the
    number and send, with plain requests. Timed over a sample, then scaled to `total`."""
    import requests

    from kaspi_sync.client import JSON_API

    session = requests.Session()
    kaspi = {"X-Auth-Token": TOKEN, "Accept": JSON_API}
    started = time.perf_counter()
    for order in orders:
        session.get(f"{sandbox_url}/kaspi/shop/api/v2/orders/{order['id']}", headers=kaspi, timeout=30).raise_for_status()
        session.post(f"{sandbox_url}/openai/v1/chat/completions", headers={"Authorization": "Bearer sk-bench"},
                     json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Спасибо"}]},
                     timeout=30).raise_for_status()
        chat = f"7{order['phone']}@c.us"
        session.get(f"{sandbox_url}/waha/api/contacts/check-exists", params={"phone": chat[:-5], "session": "default"},
                    headers={"X-Api-Key": WAHA_KEY}, timeout=30)
        session.post(f"{sandbox_url}/waha/api/sendText", json={"session": "default", "chatId": chat, "text": "Спасибо"},
                     headers={"X-Api-Key": WAHA_KEY}, timeout=30).raise_for_status()
    each = (time.perf_counter() - started) / len(orders)
    return {"seconds": round(each * total, 1), "per_order_s": round(each, 3), "sampled": len(orders)}


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else None


class Bench:
    def __init__(self, args):
        self.args = args
        self.sandbox_process, self.sandbox_url = start_sandbox(args.model_latency_ms, args.waha_latency_ms)
        self.log_dir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
        self.env = {**os.environ, "KASPI_API_URL": f"{self.sandbox_url}/kaspi/shop/api/v2",
                    "WAHA_URL": f"{self.sandbox_url}/waha", "WAHA_API_KEY": WAHA_KEY,
                    "OPENAI_BASE_URL": f"{self.sandbox_url}/openai/v1", "OPENAI_API_KEY": "sk-bench",
                    "WAHA_SEND_INTERVAL_SECONDS": "0", "SELLER_QUIET_HOURS": "", "WAHA_HUMAN_PACING": "false",
                    "SELLER_HOLDOUT_PERCENT": "0",  # every order gets its message: the runs count them
                    "LOG_LEVEL": "INFO",  # the workers log as in production
                    "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        os.environ.update({k: v for k, v in self.env.items() if k != "LOG_LEVEL"})
        self.processes = Processes(self.env, self.log_dir)
        self.phone = 7000000000

    def control(self, path, **body):
        import requests

        response = requests.post(f"{self.sandbox_url}/_sandbox/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def sent(self):
        import requests

        return requests.get(f"{self.sandbox_url}/_sandbox/waha/sent", timeout=60).json()

    def new_order(self):
        self.phone += 1  # a new customer each time: no cooldown or cap stands in the way
        return self.control("kaspi/orders", token=TOKEN, phone=f"70{self.phone % 10**8:08d}")

    def setup_shop(self):
        from kaspi_sync.models import Shop
        from kaspi_sync.sync import sync_shop

        self.control("kaspi/shops", token=TOKEN, orders=0)
        # No holdout: every order's message is sent, and the run ends when all have left.
        fields = {"name": SHOP_NAME, "kaspi_token": TOKEN, "quiet_hours": "off", "max_daily_messages": 10**6,
                  "cooldown_hours": 0, "holdout_percent": 0}
        known = {field.name for field in Shop._meta.get_fields()}  # BENCH_APP_DIR's code may predate some
        shop = Shop.objects.create(**{name: value for name, value in fields.items() if name in known})
        sync_shop(shop)  # its first sync: from now on new orders are news
        return shop

    def wait_sent(self, count: int, timeout: float) -> list[dict]:
        from messaging.models import OutboundMessage

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if OutboundMessage.objects.filter(status__in=DONE).count() >= count:
                return self.sent()
            time.sleep(0.5)
        from django.db.models import Count

        statuses = dict(OutboundMessage.objects.values_list("status").annotate(n=Count("pk")))
        sys.exit(f"only {OutboundMessage.objects.filter(status__in=DONE).count()} of {count} messages left "
                 f"within {timeout} s (outbox: {statuses}; logs: {self.log_dir})")

    def throughput(self) -> dict:
        from config.celery_app import app
        from kaspi_sync.tasks import sync_all_shops

        n = self.args.orders
        orders = [self.new_order() for _ in range(n)]
        created = {o["phone"]: o["created_ms"] / 1000 for o in orders}
        workers = {name: self.processes.start(name, f" --hostname bench-{name}@%h") for name in worker_entries()}
        wait_for_workers(app, len(workers))
        trees = {name: process_tree(p) for name, p in workers.items()}
        sandbox_tree = process_tree(self.sandbox_process)
        cpu_before = {name: cpu_split(tree) for name, tree in trees.items()}
        switches_before = {name: context_switches(tree) for name, tree in trees.items()}
        sandbox_before = cpu_seconds(sandbox_tree)
        service_before = {name: {p.pid: cpu_seconds([p]) for p in procs} for name, procs in services().items()}
        machine_before = machine_seconds()

        started = time.time()
        sync_all_shops.delay()
        sent = self.wait_sent(n, timeout=max(600, n))
        finished = max(m["timestamp"] for m in sent)

        trees = {name: process_tree(p) for name, p in workers.items()}  # children started meanwhile too
        split = {name: {kind: seconds - cpu_before[name][kind] for kind, seconds in cpu_split(trees[name]).items()}
                 for name in trees}
        switches = {name: {kind: count - switches_before[name][kind] for kind, count in context_switches(trees[name]).items()}
                    for name in trees}
        cpu = {name: sum(split[name].values()) for name in trees}
        sandbox_cpu = cpu_seconds(sandbox_tree) - sandbox_before
        machine_cpu = {kind: seconds - machine_before[kind] for kind, seconds in machine_seconds().items()}
        # A backend that ended meanwhile is not counted: PostgreSQL's figure is a floor.
        service_cpu = {name: sum(cpu_seconds([p]) - service_before[name].get(p.pid, 0.0) for p in procs)
                       for name, procs in services().items()}
        rss = {f"{name}{'' if i == 0 else f' child {i}'}": peak_rss_mib(proc)
               for name, tree in trees.items() for i, proc in enumerate(tree)}
        to_message = [m["timestamp"] - created[m["chatId"].split("@")[0][1:]] for m in sent
                      if m["chatId"].split("@")[0][1:] in created]
        self.processes.stop()
        naive = naive_loop_seconds(self.sandbox_url, orders[:10], n)
        return {
            "orders": n,
            "seconds": round(finished - started, 1),
            "orders_per_s": round(n / (finished - started), 1),
            "procfile_bound_orders_per_s": procfile_bound(self.args.model_latency_ms / 1000,
                                                          self.args.waha_latency_ms / 1000),
            "cpu_ms_per_message": round(sum(cpu.values()) * 1000 / n, 1),
            "cpu_ms_per_message_by_process": {name: round(value * 1000 / n, 1) for name, value in cpu.items()},
            "cpu_ms_per_message_user_system": {name: {kind: round(seconds * 1000 / n, 1) for kind, seconds in times.items()}
                                               for name, times in split.items()},
            "context_switches_per_message": {name: {kind: round(count / n, 1) for kind, count in counts.items()}
                                             for name, counts in switches.items()},
            "sandbox_cpu_ms_per_message": round(sandbox_cpu * 1000 / n, 1),
            # Where the machine's CPUs went: the workers, the sandbox, the services, and the rest
            # (the kernel's own work, this script's polling, everything else running).
            "service_cpu_ms_per_message": {name: round(seconds * 1000 / n, 1) for name, seconds in service_cpu.items()},
            "machine_cpu_ms_per_message": round(machine_cpu["busy"] * 1000 / n, 1),
            "machine_steal_ms_per_message": round(machine_cpu["steal"] * 1000 / n, 1),
            "peak_rss_mib": rss,
            "backlog_order_to_message_p50_s": round(percentile(to_message, 0.5), 1),
            "backlog_order_to_message_p95_s": round(percentile(to_message, 0.95), 1),
            "naive_sequential_seconds": naive["seconds"],
            "naive_sequential": naive,
        }

    def arrivals(self, seconds: int) -> dict:
        """Orders appear one a second while beat runs the syncs on its schedule."""
        from django_celery_beat.models import PeriodicTask

        from config.celery_app import app
        from messaging.models import OutboundMessage

        already = OutboundMessage.objects.filter(status__in=DONE).count()
        sync_task = PeriodicTask.objects.get(task="kaspi_sync.sync_all_shops")
        for name in worker_entries():
            self.processes.start(name, f" --hostname bench-{name}@%h")
        wait_for_workers(app, len(worker_entries()))
        self.processes.start("beat")
        orders, start = [], time.monotonic()
        while time.monotonic() - start < seconds:
            orders.append(self.new_order())
            time.sleep(max(0.0, start + len(orders) - time.monotonic()))
        created = {o["phone"]: o["created_ms"] / 1000 for o in orders}
        sent = self.wait_sent(already + len(orders), timeout=900)
        self.processes.stop()
        delays = [m["timestamp"] - created[m["chatId"].split("@")[0][1:]] for m in sent
                  if m["chatId"].split("@")[0][1:] in created]
        return {"order_to_message_p50_s": round(percentile(delays, 0.5), 1),
                "order_to_message_p95_s": round(percentile(delays, 0.95), 1),
                "arrival_orders": len(orders), "arrival_seconds": seconds,
                "sync_every": f"{sync_task.interval.every} {sync_task.interval.period}"}

    def pace(self, interval: float = 1.0, messages: int = 80) -> dict:
        """Gaps between sends on one session with 1, 4 and 8 worker processes, the limiter on.
        Each gap is the interval plus a jitter of up to half of it (mean 1.25 x interval)."""
        from config.celery_app import app
        from messaging.models import OutboundMessage

        results = {}
        for processes in (1, 4, 8):
            load = os.getloadavg()[0]
            self.env["WAHA_SEND_INTERVAL_SECONDS"] = str(interval)
            before = len(self.sent())
            already = OutboundMessage.objects.filter(status__in=DONE).count()
            for name in worker_entries():
                if name != "send":
                    self.processes.start(name, f" --hostname bench-pace-{name}-{processes}@%h")
            # The send queue taken by that many worker processes (prefork), all racing for turns.
            self.processes.start("send", f" --pool prefork --concurrency {processes} "
                                         f"--hostname bench-pace-send-{processes}@%h")
            wait_for_workers(app, len(worker_entries()))
            for _ in range(messages):
                self.new_order()
            from kaspi_sync.tasks import sync_all_shops

            sync_all_shops.delay()
            sent = self.wait_sent(already + messages, timeout=messages * interval * 3 + 120)[before:]
            self.processes.stop()
            times = sorted(m["timestamp"] for m in sent)
            gaps = [b - a for a, b in zip(times, times[1:])]
            mean = statistics.mean(gaps)
            results[str(processes)] = {"interval_s": interval, "gaps": len(gaps), "min_gap_s": round(min(gaps), 3),
                                       "mean_gap_s": round(mean, 3), "expected_mean_s": 1.25 * interval,
                                       "mean_error_pct": round((mean / (1.25 * interval) - 1) * 100, 1),
                                       "shorter_than_interval": sum(g < interval for g in gaps),
                                       "load_average": [round(load, 1), round(os.getloadavg()[0], 1)]}
        self.env["WAHA_SEND_INTERVAL_SECONDS"] = "0"
        return results

    def close(self):
        self.processes.stop()
        self.sandbox_process.terminate()
        self.sandbox_process.wait(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--model-latency-ms", type=float, default=800)
    parser.add_argument("--waha-latency-ms", type=float, default=100)
    parser.add_argument("--arrival-seconds", type=int, default=180, help="0 skips the order-to-message phase")
    parser.add_argument("--pace", action="store_true", help="also measure the pace limiter (minutes)")
    parser.add_argument("--pace-only", action="store_true", help="measure only the pace limiter")
    parser.add_argument("--pace-messages", type=int, default=80, help="messages per pace run")
    parser.add_argument("--label", default="latest", help="the run's name under \"runs\" in pipeline.json")
    args = parser.parse_args()

    fresh_db.recreate(DATABASE_URL)
    bench = Bench(args)  # the sandbox first: the settings read its URLs from the environment
    os.chdir(APP)  # Celery's Django fix-up puts the working directory first on sys.path
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    clean_redis()
    try:
        bench.setup_shop()
        result = {} if args.pace_only else bench.throughput()
        if args.arrival_seconds and not args.pace_only:
            result.update(bench.arrivals(args.arrival_seconds))
        if args.pace or args.pace_only:
            result["pace"] = bench.pace(messages=args.pace_messages)
    finally:
        bench.close()
        clean_redis()
    result.update({
        "model_latency_ms": args.model_latency_ms, "waha_latency_ms": args.waha_latency_ms,
        "procfile": worker_entries(),
        "broker": urlsplit(BROKER_URL).scheme,
        "database_pool_max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE") or 0),
        "machine": f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs",
        "measured_at": timezone.now().isoformat(timespec="seconds"),
    })
    # The latest run's figures at the top; every labelled run (e.g. "before") kept under "runs".
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    runs = previous.get("runs", {})
    runs[args.label] = {**result, "app": str(APP)}
    # A run that did not measure the pace keeps the last measured one at the top.
    top = ({**previous, "pace": result["pace"]} if args.pace_only
           else {"pace": previous.get("pace"), **result, "label": args.label})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({**top, "runs": runs}, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"-> {RESULTS} [{args.label}]")


if __name__ == "__main__":
    main()
