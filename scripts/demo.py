"""`make demo`: the whole pipeline on this machine, against the sandbox stand-ins.

Starts Redis (if needed and installed), the sandbox, a Celery worker, beat, the web app and
Flower; creates a fresh demo shop and an admin user; prints what happens to each message: sent
(with its text and who wrote it), held (until when, why), blocked, failed. Ctrl-C stops
everything it started. `--reset` (`make demo-reset`) forgets the demo's database and Redis keys.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SANDBOX_PORT, WEB_PORT, FLOWER_PORT = 8900, 8000, 5555
SANDBOX = f"http://127.0.0.1:{SANDBOX_PORT}"
DEMO_SHOP = "Demo Shop Almaty"

DEMO_ENV = {
    "DEBUG": "1",
    "KASPI_API_URL": f"{SANDBOX}/kaspi/shop/api/v2",
    "WAHA_URL": f"{SANDBOX}/waha",
    "WAHA_API_KEY": "sandbox-waha-key",
    "WAHA_WEBHOOK_HMAC_KEY": "demo-webhook-key",
    "WAHA_SEND_INTERVAL_SECONDS": "2",
    "OPENAI_API_KEY": "sandbox-openai-key",
    "OPENAI_BASE_URL": f"{SANDBOX}/openai/v1",
    # So that both triggers show within minutes, not days:
    "SELLER_QUIET_HOURS": "",
    "SELLER_DELIVERED_DELAY_HOURS": "0",
    "SELLER_COOLDOWN_HOURS": "0",
    # A larger holdout than in production, so the lift's interval narrows within the demo.
    "SELLER_HOLDOUT_PERCENT": "30",
    "FLOWER_BASIC_AUTH": "admin:admin",
}
children: list[subprocess.Popen] = []


def say(text: str):
    print(f"[demo] {text}", flush=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start(name: str, *args: str):
    log = open(ROOT / "var" / f"{name}.log", "w")
    process = subprocess.Popen(list(args), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    children.append(process)
    say(f"started {name} (log: var/{name}.log)")
    return process


def ensure_redis(url: str):
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if port_open(host, port):
        return
    if host not in ("127.0.0.1", "localhost") or not shutil.which("redis-server"):
        sys.exit(
            f"Redis is not reachable at {host}:{port}. Install and start it "
            "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis && brew services start redis), "
            "or set REDIS_URL to a running one."
        )
    start("redis", "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
    for _ in range(50):
        if port_open(host, port):
            return
        time.sleep(0.1)
    sys.exit("redis-server did not start: see var/redis.log")


def wait_for(url: str, what: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.3)
    stop_all()
    sys.exit(f"{what} did not start within {seconds:.0f} s: see var/")


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def prepare_database():
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    call_command("migrate", verbosity=0)
    User = get_user_model()
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", "admin")
    # Faster than production so the demo shows something within a minute.
    every, _ = IntervalSchedule.objects.get_or_create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task__in=["kaspi_sync.sync_all_shops", "seller.enqueue_due_messages",
                                          "seller.reconcile", "seller.attribute_orders"]).update(interval=every)


def demo_shop():
    """A clean demo shop each run: the last run's shop goes with its orders and messages (and
    whatever was changed on it in admin), so every run starts from the same settings. A fresh
    sandbox token makes this run a first sync (history is not messaged)."""
    from kaspi_sync.models import Shop
    from messaging.models import OptOut

    token = f"demo-kaspi-token-{int(time.time())}"
    requests.post(f"{SANDBOX}/_sandbox/kaspi/shops", json={"token": token, "orders": 30, "seed": int(time.time())}, timeout=10).raise_for_status()
    removed = Shop.objects.filter(name=DEMO_SHOP).delete()[0]
    if removed:
        say(f"removed the last run's demo shop with its orders and messages ({removed} rows)")
    shop = Shop.objects.create(name=DEMO_SHOP, kaspi_token=token, mode=Shop.Mode.LIVE,  # the sandbox is safe to send to
                               voice="Тёплый, короткий, на «вы».")
    kept = [f"{count} {what}" for count, what in (
        (Shop.objects.exclude(pk=shop.pk).count(), "other shop(s), still syncing"),
        (OptOut.objects.count(), "opt-out(s)"),
    ) if count]
    if kept:
        say(f"kept from earlier runs: {', '.join(kept)}; `make demo-reset` starts from nothing")
    for topic, text in DEMO_KNOWLEDGE.items():  # what the seller may answer from (admin: Knowledge entries)
        shop.knowledge.get_or_create(topic=topic, defaults={"text": text})
    return shop


DEMO_KNOWLEDGE = {
    "returns": "Вернуть товар можно в течение 14 дней через приложение Kaspi, если сохранены вид и упаковка.",
    "exchange": "Обменять размер или цвет можно через возврат в Kaspi и новый заказ.",
    "hours": "Мы отвечаем в этом чате с 9:00 до 21:00 без выходных.",
    "reviews": "Отзыв можно оставить в приложении Kaspi: Мои заказы, выберите заказ и нажмите Оставить отзыв.",
}


def print_conversations(seen: set, since):
    """Customers' replies, our answers and handoffs, as they happen."""
    from messaging.models import InboundMessage
    from messaging.phones import mask
    from seller.models import Answer, Handoff

    events = [(m.received_at, f"m{m.pk}", f"<<< {mask(m.phone)} wrote: {m.body}")
              for m in InboundMessage.objects.filter(received_at__gte=since)]
    events += [(a.sent_at, f"a{a.pk}", f">>> answer to {mask(a.phone)} ({a.get_kind_display()}): {a.text}")
               for a in Answer.objects.filter(sent_at__gte=since)]
    events += [(h.opened_at, f"h{h.pk}", f"!!! handoff {h.pk} opened for {mask(h.phone)}: {h.get_reason_display()}"
                " (admin: Seller > Handoffs)") for h in Handoff.objects.filter(opened_at__gte=since)]
    for _, key, line in sorted(events):
        if key not in seen:
            seen.add(key)
            print(line, flush=True)


SHOWN = ("sent", "delivered", "read", "deferred", "blocked", "failed", "cancelled", "unknown", "dry_run")


def print_messages(seen: set, since):
    """Each message once per state it reaches: sent ones with their text and author, the others
    with why (held: until when, in the shop's time)."""
    from messaging import explain
    from messaging.models import OutboundMessage
    from messaging.phones import mask

    rows = (OutboundMessage.objects.filter(updated_at__gte=since, status__in=SHOWN)
            .select_related("order", "shop").prefetch_related("events").order_by("updated_at"))
    for row in rows:
        state = "sent" if row.status in ("sent", "delivered", "read") else row.status
        if (row.pk, state) in seen:
            continue
        seen.add((row.pk, state))
        customer = f"{row.order.customer_first_name} {row.order.customer_last_name} ({mask(row.phone)})"
        where = f"order #{row.order.code}, {row.get_trigger_display()}"
        if state == "sent":
            print(f"\n>>> WhatsApp to {customer}, {where}, written by {explain.author_words(row)}:\n{row.text}\n",
                  flush=True)
        else:
            print(f"--- {explain.status_words(row)} · {customer}, {where}", flush=True)


def reset():
    """Forget the demo: the local SQLite database and this project's keys in the demo's Redis."""
    from config import redis as project_redis
    from django.conf import settings

    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("sqlite3"):
        sys.exit(f"DATABASE_URL points at {database['ENGINE'].rsplit('.', 1)[-1]}, not the demo's SQLite file: "
                 "nothing removed (drop that database yourself if you mean it)")
    for path in (Path(database["NAME"]), *(Path(f"{database['NAME']}{tail}") for tail in ("-wal", "-shm"))):
        if path.exists():
            path.unlink()
            say(f"removed {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    try:
        client = project_redis.client()
        names = [name for pattern in (project_redis.PREFIX + "*", ":1:aiseller*") for name in client.scan_iter(pattern)]
        if names:
            client.delete(*names)
        say(f"removed {len(names)} Redis key(s) of the project at {settings.REDIS_URL.rsplit('@', 1)[-1]}")
    except Exception as exc:  # Redis not running: nothing of ours is kept there
        say(f"Redis not reachable ({type(exc).__name__}): nothing to remove there")
    say("the next `make demo` starts from nothing")


def stop_all(*_):
    # Ignore a second Ctrl-C (or make's SIGTERM) while children are being stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for process in reversed(children):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in children:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def main():
    for name, value in DEMO_ENV.items():
        os.environ.setdefault(name, value)
    if "--reset" in sys.argv[1:]:
        setup_django()
        reset()
        return 0
    (ROOT / "var").mkdir(exist_ok=True)
    for port, what in ((SANDBOX_PORT, "sandbox"), (WEB_PORT, "web app"), (FLOWER_PORT, "Flower")):
        if port_open("127.0.0.1", port):
            sys.exit(f"Port {port} (for the {what}) is taken: stop what uses it, then run make demo again.")
    ensure_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    setup_django()
    prepare_database()
    from django.utils import timezone
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        start("sandbox", PY, "manage.py", "sandbox", "--port", str(SANDBOX_PORT), "--demo",
              "--webhook-url", f"http://127.0.0.1:{WEB_PORT}/webhooks/waha",
              "--webhook-hmac-key", os.environ["WAHA_WEBHOOK_HMAC_KEY"], "--waha-api-key", os.environ["WAHA_API_KEY"],
              # Past customers order again: 0.4 % a tick, 1 % once messaged (a true lift the metrics find).
              "--repeat-rate", "0.004", "--true-lift", "0.006")
        wait_for(f"{SANDBOX}/_sandbox/waha/sent", "the sandbox")
        shop = demo_shop()
        start("web", PY, "manage.py", "runserver", f"127.0.0.1:{WEB_PORT}", "--noreload")
        start("worker", PY, "-m", "celery", "-A", "config", "worker", "-Q", "sync,pipeline,llm,send",
              "--pool", "threads", "--concurrency", "8", "--loglevel", "INFO")
        start("beat", PY, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO")
        start("flower", PY, "-m", "celery", "-A", "config", "flower", f"--port={FLOWER_PORT}", "--address=127.0.0.1",
              f"--basic-auth={os.environ['FLOWER_BASIC_AUTH']}")
        wait_for(f"http://127.0.0.1:{WEB_PORT}/admin/login/", "the web app")
        say(f"shop {shop.name!r} (id {shop.pk}) syncs every 10 s from the sandbox's Kaspi")
        say(f"admin:   http://127.0.0.1:{WEB_PORT}/admin/  (user admin, password admin)")
        say(f"flower:  http://127.0.0.1:{FLOWER_PORT}/  (admin / admin)")
        say(f"what WAHA sent: {SANDBOX}/_sandbox/waha/sent.html")
        say("waiting for messages (sent ones with their text; held, blocked and failed ones with why); "
            "Ctrl-C stops everything")
        seen: set = set()  # outbox rows printed, per state
        said: set = set()  # replies, answers and handoffs printed
        since = timezone.now()
        while True:
            print_messages(seen, since)
            print_conversations(said, since)
            for process in children:
                if process.poll() is not None:
                    say(f"a process stopped ({' '.join(process.args[1:4])}): see var/")
                    return 1
            time.sleep(2)
    except KeyboardInterrupt:
        say("stopping")
    finally:
        stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
