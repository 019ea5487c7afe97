"""The fault suite's rig: a few hundred sandbox orders synced and worked through by real worker
processes, while a test breaks something; then the outbox must settle with every row final or
deferred, no customer messaged twice, and no cap exceeded.

The reconciler runs as `celery beat` would run it, but every second (not every minute): a
thread publishes `seller.reconcile` to the broker, and a worker runs it. The workers run with
short periods so a fault heals within seconds (see FAST); the scheduled sync runs every 5 s."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from kaspi_sync.models import Shop
from messaging.models import MessageEvent, OutboundMessage
from tests.messaging.workers import ROOT, WorkerProcess, process_env

FINAL = {"sent", "delivered", "read", "blocked", "cancelled", "failed", "deferred"}
SENT = {"sent", "delivered", "read"}
ORDERS = int(os.environ.get("FAULTS_ORDERS", 100))  # `make faults` runs 200
SETTLE_TIMEOUT = 240  # seconds: the bound every fault must settle within
# The reconciler's periods, shortened so that a fault heals within seconds.
FAST = {"SELLER_STUCK_MINUTES": "0.05", "SELLER_UNKNOWN_GRACE_MINUTES": "0.05", "WAHA_TIMEOUT": "3",
        "WAHA_RETRY_BACKOFF_SECONDS": "0.2", "OPENAI_TIMEOUT": "1", "OPENAI_MAX_RETRIES": "0",
        "SELLER_SENDING_MARGIN_SECONDS": "2"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Beat:
    """Publishes `seller.reconcile` every `every` seconds through its own broker connection, as
    a beat process does; a publish that fails (the broker down) is counted and tried next tick."""

    def __init__(self, broker_url: str, every: float = 1.0, sync_every: float = 5.0):
        self.app = Celery("fault-beat", set_as_current=False)
        self.app.config_from_object("django.conf:settings", namespace="CELERY")
        self.broker_url = broker_url  # given on each publish: CELERY_BROKER_URL in the environment wins over conf
        self.every, self.sync_every, self.published, self.failed = every, sync_every, 0, 0
        self.syncing = False  # the scheduled sync too, once a test starts it
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def send(self, task_name: str, *args, **options):
        with self.app.connection_for_write(self.broker_url) as conn:
            self.app.send_task(task_name, args=list(args), connection=conn, retry=False, **options)

    def run(self):
        ticks = 0
        while not self.stopping.wait(self.every):
            ticks += 1
            try:
                # Expires: runs that waited behind a long queue are dropped, not piled up.
                self.send("seller.reconcile", expires=self.every * 5)
                if self.syncing and ticks % round(self.sync_every / self.every) == 0:
                    self.send("kaspi_sync.sync_all_shops", expires=self.sync_every)
                self.published += 1
            except Exception:
                self.failed += 1

    def stop(self):
        self.stopping.set()
        self.thread.join(10)
        self.app.close()


class RedisServer:
    """A redis-server of the test's own on a free port, without persistence: restarting it
    loses every queued task, as a real Redis restart without AOF does."""

    def __init__(self, log_path: Path):
        self.port, self.log_path = free_port(), log_path
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.start()

    def start(self):
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the test's redis-server did not start")

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class Rig:
    def __init__(self, sandbox, tmp_path: Path, redis_url: str):
        self.sandbox, self.tmp_path, self.redis_url = sandbox, tmp_path, redis_url
        self.workers, self.beat, self.orders = [], None, ORDERS
        self.worker_options, self.worker_restarts = [], 0
        self.token = "kaspi-faults-token-01"
        self.started = None
        self.cap = ORDERS - 10  # the shop's daily cap: the last ten wait for tomorrow (deferred)

    def env(self, **overrides) -> dict:
        """What every project process of this test gets: the sandbox, the broker and cache, FAST."""
        return {"REDIS_URL": self.redis_url, "CELERY_BROKER_URL": self.redis_url, "WAHA_URL": settings.WAHA_URL,
                "OPENAI_BASE_URL": settings.OPENAI_BASE_URL, "KASPI_API_URL": settings.KASPI_API_URL,
                **FAST, **overrides}

    def start_worker(self, concurrency: int = 4, **env) -> WorkerProcess:
        worker = WorkerProcess(self.tmp_path / f"worker-{len(self.workers)}.log", concurrency=concurrency,
                               env=self.env(**env))
        self.workers.append(worker)
        self.worker_options.append((concurrency, env))
        return worker

    def restart_exited_workers(self):
        """What a supervisor does (docker-compose's `restart: unless-stopped`, a Kubernetes
        Deployment): a worker process that exited on its own is started again."""
        for index, worker in enumerate(self.workers):
            if worker.process.poll() is None:
                continue
            self.worker_restarts += 1
            concurrency, env = self.worker_options[index]
            self.workers[index] = WorkerProcess(self.tmp_path / f"worker-{index}-restart-{self.worker_restarts}.log",
                                                concurrency=concurrency, env=self.env(**env))

    def start_beat(self):
        self.beat = Beat(self.redis_url)

    def place_orders(self) -> Shop:
        """A shop in Kaspi with ORDERS new orders, each from a customer of its own."""
        self.sandbox.control("kaspi/shops", token=self.token, orders=0)
        for i in range(self.orders):
            self.sandbox.control("kaspi/orders", token=self.token, phone=f"70110{i + 1:05d}", first_name="Айгерим")
        return Shop.objects.create(name="Tech Store Almaty", kaspi_token=self.token, max_daily_messages=self.cap)

    def sync(self):
        """The scheduled sync, published as beat publishes it."""
        self.started = time.monotonic()
        self.beat.send("kaspi_sync.sync_all_shops")
        self.beat.syncing = True

    def sync_in_process(self, broker_url: str) -> subprocess.CompletedProcess:
        """The sync in a process of its own whose broker is `broker_url` (e.g. nobody listening)."""
        self.started = time.monotonic()
        code = ("import django; django.setup(); from kaspi_sync.models import Shop; "
                "from kaspi_sync.sync import sync_shop; [sync_shop(shop) for shop in Shop.objects.all()]")
        env = process_env(**self.env(CELERY_BROKER_URL=broker_url))
        return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)

    # --- what the customers and the outbox show -------------------------------------------
    def statuses(self) -> Counter:
        return Counter(OutboundMessage.objects.values_list("status", flat=True))

    def progress(self) -> int:
        """Rows that reached WhatsApp or another end so far."""
        return sum(count for status, count in self.statuses().items() if status in FINAL)

    def wait_for_progress(self, share: float, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while self.progress() < share * self.orders:
            assert time.monotonic() < deadline, f"no progress: {self.statuses()}"
            time.sleep(0.1)

    def settled(self) -> bool:
        statuses = self.statuses()
        return sum(statuses.values()) == self.orders and set(statuses) <= FINAL

    def settle(self, supervised: bool = False) -> float:
        """Waits (bounded) until every row is final or deferred; returns the seconds since the sync.
        `supervised`: meanwhile a worker that exited is started again, as in production."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while not self.settled() and time.monotonic() < deadline:
            if supervised:
                self.restart_exited_workers()
            time.sleep(0.25)
        return round(time.monotonic() - self.started, 1)

    def outcome(self, fault: str, injected: dict, settle_seconds: float) -> dict:
        statuses = self.statuses()
        per_chat = Counter(message["chatId"] for message in self.sandbox.sent())
        rows_sent = set(OutboundMessage.objects.filter(status__in=SENT).values_list("chat_id", flat=True))
        return {
            "fault": fault, "orders": self.orders, "faults_injected": injected,
            "duplicates": sum(count - 1 for count in per_chat.values() if count > 1),
            "stuck_rows": sum(count for status, count in statuses.items() if status not in FINAL),
            "rows": sum(statuses.values()),
            "settle_seconds": settle_seconds, "statuses": dict(sorted(statuses.items())),
            "messages_received": sum(per_chat.values()), "daily_cap": self.cap,
            "worker_restarts": self.worker_restarts,
            "sent_not_recorded": len(set(per_chat) - rows_sent), "recorded_not_sent": len(rows_sent - set(per_chat)),
            # How the outbox healed: rows that went unknown, were found in WAHA's history, were sent once more.
            "went_unknown": MessageEvent.objects.filter(status="unknown").count(),
            "found_in_history": MessageEvent.objects.filter(note="found in WAHA's chat history").count(),
            "sent_once_more": MessageEvent.objects.filter(note__startswith="not in WAHA's chat history").count(),
        }

    def stop(self):
        if self.beat:
            self.beat.stop()
        for worker in self.workers:
            worker.stop()


def check(outcome: dict):
    """What a customer and an operator would see, whatever the fault was."""
    record(outcome)
    told = json.dumps(outcome)  # the whole outcome in the failure message
    assert outcome["rows"] == outcome["orders"], told  # every order got its row
    assert outcome["stuck_rows"] == 0, told
    assert outcome["duplicates"] == 0, told
    sent = sum(outcome["statuses"].get(status, 0) for status in SENT)
    assert outcome["messages_received"] == sent <= outcome["daily_cap"], told
    assert outcome["sent_not_recorded"] == outcome["recorded_not_sent"] == 0, told


def record(outcome: dict):
    """With FAULTS_RESULTS set (`make faults`), each fault's figures go to that JSON file."""
    path = os.environ.get("FAULTS_RESULTS")
    if not path:
        return
    path = Path(path)
    results = json.loads(path.read_text()) if path.exists() else {}
    results.setdefault("faults", {})[outcome["fault"]] = outcome
    results["machine"] = {"cpus": os.cpu_count(), "orders": ORDERS}
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


def terminate_other_connections() -> int:
    """pg_terminate_backend of every other session on the test database: the workers' ones."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def make_rig(transactional_db, sandbox, tmp_path):
    rigs = []

    def make(redis_url: str | None = None) -> Rig:
        rig = Rig(sandbox, tmp_path, redis_url or settings.REDIS_URL)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.stop()


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis.log")
    yield server
    server.kill()
