"""Test settings: the project's own, with a test database and a Redis DB number of its own.

Override with TEST_DATABASE_URL / TEST_REDIS_URL (e.g. to run two checkouts side by side), and
TEST_BROKER_URL for a RabbitMQ broker (its own vhost: the tests purge the project's queues).
"""

import os

os.environ["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aiseller")
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
# TEST_BROKER_URL (e.g. amqp://guest:guest@127.0.0.1:5672/aiseller_test) runs the tests on RabbitMQ.
os.environ["CELERY_BROKER_URL"] = os.environ.get("TEST_BROKER_URL") or os.environ["REDIS_URL"]
os.environ.setdefault("SECRET_KEY", "tests-only-secret")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "Zq3mJ2l3oWcD6bq0y1o0e9V8rY3bHq2hYw5x9m8kQ2c=")
os.environ.setdefault("WAHA_API_KEY", "sandbox-waha-key")
os.environ.setdefault("WAHA_WEBHOOK_HMAC_KEY", "tests-webhook-key")
os.environ.setdefault("WAHA_SEND_INTERVAL_SECONDS", "0")
os.environ.setdefault("OPENAI_API_KEY", "sk-test")
os.environ.setdefault("OPENAI_TIMEOUT", "2")
os.environ.setdefault("OPENAI_MAX_RETRIES", "1")
os.environ.setdefault("SELLER_QUIET_HOURS", "")
os.environ.setdefault("SELLER_DELIVERED_DELAY_HOURS", "0")
# No holdout unless a test asks for one: a held-out customer gets nothing, which other tests do not expect.
os.environ.setdefault("SELLER_HOLDOUT_PERCENT", "0")
os.environ.setdefault("KASPI_READ_TIMEOUT", "10")
os.environ.setdefault("HTTPS", "false")  # the test client and live server speak plain HTTP

from config.settings import *  # noqa: E402,F403

DATABASES["default"]["TEST"] = {"NAME": "test_" + DATABASES["default"]["NAME"]}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT = None  # tests serve static files from the apps (no collectstatic)
