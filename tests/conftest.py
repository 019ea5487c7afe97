"""Fixtures: real PostgreSQL and Redis, the sandbox stand-ins over HTTP, a real Celery worker."""

import pytest
import redis as redis_lib
import requests
from django.conf import settings as django_settings

from config import redis


@pytest.fixture(scope="session", autouse=True)
def services_running():
    """Fail early, saying how to start what is missing."""
    try:
        redis_lib.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis_lib.RedisError:
        pytest.exit(f"Redis is not reachable at {django_settings.REDIS_URL}. Start it: "
                    "redis-server --daemonize yes --port 6379 --save '' (or run bash .ci/run)", returncode=3)


@pytest.fixture(autouse=True)
def fresh_recommendation_counts():
    """Each test counts its own shop's orders (the counts are kept a minute in a process)."""
    from seller.recommendations import forget_counts

    forget_counts()


@pytest.fixture(autouse=True)
def clean_redis():
    """Remove only what the project writes (its prefix, the cache and the Celery queues) in the test DB."""
    def clean():
        client = redis.client()
        patterns = [redis.PREFIX + "*", ":1:aiseller*", "aiseller*", "_kombu.*", "unacked*"]
        names = [name for pattern in patterns for name in client.scan_iter(pattern)]
        names += [queue for queue in ("sync", "pipeline", "llm", "send", "celery") if client.exists(queue)]
        if names:
            client.delete(*names)
    clean()
    yield
    clean()


@pytest.fixture(autouse=True)
def clean_rabbitmq_queues():
    """With TEST_BROKER_URL on RabbitMQ, the project's queues start each test empty (their
    messages would outlive a test: the queues are durable)."""
    if not django_settings.BROKER_IS_RABBITMQ:
        yield
        return

    def purge():
        from config.celery_app import app

        with app.connection_for_write() as conn:
            for queue in django_settings.CELERY_TASK_QUEUES:
                queue(conn.default_channel).declare()
                queue(conn.default_channel).purge()
    purge()
    yield
    purge()


@pytest.fixture(scope="session")
def sandbox_server():
    from sandbox.server import start

    server = start(waha_api_key=django_settings.WAHA_API_KEY, webhook_hmac_key=django_settings.WAHA_WEBHOOK_HMAC_KEY)
    yield server
    server.stop()


class Sandbox:
    """The stand-ins as a test sees them: their URLs and their control API."""

    def __init__(self, server):
        self.url = server.url
        self.server = server

    def control(self, path: str, **body):
        response = requests.post(f"{self.url}/_sandbox/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def get(self, path: str, **params):
        response = requests.get(f"{self.url}/_sandbox/{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def sent(self, chat_id: str | None = None) -> list[dict]:
        return self.get("waha/sent", **({"chat_id": chat_id} if chat_id else {}))


@pytest.fixture
def sandbox(sandbox_server, settings):
    """A clean sandbox for each test, with the app's settings pointing at it."""
    box = Sandbox(sandbox_server)
    box.control("reset")
    settings.KASPI_API_URL = f"{box.url}/kaspi/shop/api/v2"
    settings.WAHA_URL = f"{box.url}/waha"
    settings.OPENAI_BASE_URL = f"{box.url}/openai/v1"
    return box


@pytest.fixture
def webhooks_to_app(sandbox, live_server):
    """The sandbox's WAHA posts its webhooks to this test's live app."""
    sandbox.control("waha/webhook", url=f"{live_server.url}/webhooks/waha", hmac_key=django_settings.WAHA_WEBHOOK_HMAC_KEY)
    return live_server


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (the test broker, every queue) in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    from config.celery_app import app

    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30) as worker:
        yield worker


@pytest.fixture
def shop(db, sandbox):
    from kaspi_sync.models import Shop

    token = "kaspi-test-token-0001"
    sandbox.control("kaspi/shops", token=token, orders=0)
    return Shop.objects.create(name="Tech Store Almaty", kaspi_token=token)
