"""A real Celery worker in its own process (prefork pool), on this test's database, Redis DB
and sandbox, so a test can race many processes or kill one with SIGKILL mid-task."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# Settings the worker must share with the test; everything else is the project's default.
SHARED = ["REDIS_URL", "CELERY_BROKER_URL", "WAHA_URL", "WAHA_API_KEY", "WAHA_WEBHOOK_HMAC_KEY", "WAHA_SESSION",
          "WAHA_SEND_INTERVAL_SECONDS", "WAHA_SEND_MAX_ATTEMPTS", "WAHA_RETRY_BACKOFF_SECONDS", "WAHA_TIMEOUT",
          "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_TIMEOUT", "OPENAI_MAX_RETRIES", "KASPI_API_URL",
          "SELLER_QUIET_HOURS", "SELLER_DELIVERED_DELAY_HOURS", "SELLER_HOLDOUT_PERCENT", "FIELD_ENCRYPTION_KEY",
          "SECRET_KEY"]


def database_url() -> str:
    db = connection.settings_dict  # the test database, e.g. test_aiseller_i5
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**overrides) -> dict:
    """The environment of a project process on this test's database, Redis and sandbox;
    `overrides` (e.g. SELLER_STUCK_MINUTES="0.05") win."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": database_url(),
           "LOG_LEVEL": "INFO"}
    env.update({name: "" if getattr(settings, name) is None else str(getattr(settings, name)) for name in SHARED})
    env.update({name: str(value) for name, value in overrides.items()})
    return env


class WorkerProcess:
    def __init__(self, log_path: Path, concurrency: int = 4, visibility_timeout: int = 3600, env: dict | None = None,
                 prefix: tuple[str, ...] = (), hostname: str = "", ready: bool = True):
        """`prefix` runs it through another command (e.g. `ip netns exec NAME`); `ready=False`
        returns at once (call `wait_ready()`), to start several side by side."""
        env = process_env(CELERY_VISIBILITY_TIMEOUT=visibility_timeout, **(env or {}))
        self.log_path = log_path
        self.log = open(log_path, "ab")
        command = [*prefix, sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
                   "--concurrency", str(concurrency), "--queues", "sync,pipeline,llm,send", "--loglevel", "INFO",
                   "--without-gossip", "--without-mingle",
                   "--hostname", hostname or f"i5-test-{os.getpid()}-{time.time_ns()}@%h"]
        # Its own process group, so SIGKILL takes the pool's children too (a machine dying).
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        if ready:
            self.wait_ready()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.output():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited at start:\n{self.output()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"the worker was not ready within {timeout} s:\n{self.output()[-3000:]}")

    def children(self) -> list[int]:
        """The pool's processes (the tasks run in these), from /proc."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return pids

    def kill_child(self, pid: int):
        """SIGKILL one pool process: the parent replaces it, the task it ran is lost."""
        os.kill(pid, signal.SIGKILL)

    def kill(self):
        """SIGKILL, no goodbye: unacknowledged tasks stay with the broker."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
