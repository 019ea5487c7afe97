"""Settings, read once from the environment (12-factor); `.env` is read when present."""

from pathlib import Path

import environ
from kombu import Exchange, Queue

from config import local_env

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = local_env.env_file(BASE_DIR)  # `.env` in the checkout unless ENV_FILE says otherwise
if ENV_FILE is not None:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key" if DEBUG else "")
if not SECRET_KEY:
    raise environ.ImproperlyConfigured(
        "SECRET_KEY is not set: set it in the environment (production), or DEBUG=1 for local development")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files, no CDN
    "django_celery_beat",
    "encrypted_model_fields",
    "axes",  # admin login attempts, rate-limited
    "access",
    "kaspi_sync",
    "seller",
    "messaging",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.localtime.AdminTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

# --- Who may log in, and how often they may fail ----------------------------
# django-axes locks a username from one address out after ADMIN_LOGIN_FAILURE_LIMIT failed
# logins, for ADMIN_LOGIN_COOLOFF_MINUTES. Behind a proxy the address is the proxy's, so the
# lock then works per username.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("ADMIN_LOGIN_COOLOFF_MINUTES", default=15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"

# --- Behind HTTPS -----------------------------------------------------------
# HTTPS (default on unless DEBUG): secure cookies, HSTS and a redirect to https. Behind a proxy
# that ends TLS, SECURE_PROXY_SSL_HEADER names the header it sets ("X-Forwarded-Proto").
HTTPS = env.bool("HTTPS", default=not DEBUG)
proxy_header = env("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_header.upper().replace("-", "_"), "https") if proxy_header else None
SECURE_SSL_REDIRECT = HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = env.list("SECURE_REDIRECT_EXEMPT", default=[])  # regexes, e.g. ^healthz$ for a load balancer
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is a promise to browsers that is hard to take back: the operator opts in.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# SQLite (the demo) keeps an index's INCLUDE columns out; PostgreSQL, where they matter, has them.
SILENCED_SYSTEM_CHECKS += ["models.W040"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A local try runs a worker, beat and the web app on one file: wait for locks, take them early.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
elif DATABASES["default"]["ENGINE"].endswith("postgresql") and env.int("DATABASE_POOL_MAX_SIZE", default=0):
    # Opt-in: a pool per process, shared by its threads, instead of a connection (a PostgreSQL
    # backend) opened per task. Off by default: a thread that uses the database and ends without
    # closing its connection keeps it checked out for good, and the pool then runs dry (a test
    # with retries in threads showed it); turn it on only where every thread closes its own.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": env.int("DATABASE_POOL_MAX_SIZE"), "timeout": 30}
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # The same dozen statements run for every message: a connection prepares each after its fifth
    # run (psycopg), so PostgreSQL parses and plans it once, not per message (a third of its CPU
    # in bench/pipeline.py). Behind PgBouncer in transaction mode: 1.21 or newer with
    # max_prepared_statements set, or turn this off.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Kaspi tokens are encrypted at rest with this Fernet key. During a key change it holds the new
# key first, then the old one, comma-separated: both decrypt, the first encrypts (see rotate_keys).
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", default="")
if not FIELD_ENCRYPTION_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured(
            "Set FIELD_ENCRYPTION_KEY (python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        )
    FIELD_ENCRYPTION_KEY = "7YlYcVnZ5rq3tXGjtH2cW5dF8s2m1dQZQb6k3V0bO0s="  # dev only
if "," in FIELD_ENCRYPTION_KEY:
    FIELD_ENCRYPTION_KEY = [key.strip() for key in FIELD_ENCRYPTION_KEY.split(",") if key.strip()]

# --- Redis and Celery -------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False  # a lost worker's task runs again only via visibility timeout
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connection only after this many tasks; after each
# task it is closed if it failed or aged out, or handed back to the pool (config/celery_app.py).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# With the Redis broker an unacknowledged task runs again after this: longer than any task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TASK_DEFAULT_QUEUE = "pipeline"
# RabbitMQ (amqp://): durable queues, of CELERY_QUEUE_TYPE "quorum" by default (replicated,
# a message is kept until a consumer acknowledges it; needs RabbitMQ 3.8+) or "classic".
# Quorum queues have no global prefetch and keep countdowns in the broker ("native delayed
# delivery", which needs topic exchanges), so a retry's countdown never waits in a worker.
BROKER_IS_RABBITMQ = CELERY_BROKER_URL.split("://", 1)[0] in ("amqp", "amqps", "pyamqp")
CELERY_QUEUE_TYPE = env("CELERY_QUEUE_TYPE", default="quorum")
if CELERY_QUEUE_TYPE not in ("quorum", "classic"):
    raise environ.ImproperlyConfigured(f"CELERY_QUEUE_TYPE must be quorum or classic, not {CELERY_QUEUE_TYPE!r}")
QUEUE_ARGUMENTS = {"x-queue-type": CELERY_QUEUE_TYPE} if BROKER_IS_RABBITMQ else None
EXCHANGE_TYPE = "topic" if BROKER_IS_RABBITMQ else "direct"
if BROKER_IS_RABBITMQ:
    CELERY_TASK_DEFAULT_QUEUE_TYPE = CELERY_QUEUE_TYPE
    CELERY_TASK_DEFAULT_EXCHANGE_TYPE = EXCHANGE_TYPE
# Each queue has its own exchange and key: a shared key would copy every task into every queue.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name, type=EXCHANGE_TYPE, durable=True), routing_key=name, durable=True,
                            queue_arguments=QUEUE_ARGUMENTS) for name in ("sync", "pipeline", "llm", "send")]
CELERY_TASK_ROUTES = {
    "kaspi_sync.*": {"queue": "sync"},
    "seller.generate_message": {"queue": "llm"},
    "seller.send_whatsapp": {"queue": "send"},
    "seller.handle_reply": {"queue": "llm"},
    "seller.send_answer": {"queue": "send"},
    "messaging.send_whatsapp": {"queue": "send"},  # the old name, forwarded
    "seller.*": {"queue": "pipeline"},
    "messaging.*": {"queue": "pipeline"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Flower shows tasks from the workers' events: received, started, succeeded (and Flower turns
# them on when it runs). `sent`, from the publishing side, only shows a task before a worker
# takes it (queue lengths show that too) and costs each publish a second Redis command: off.
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_TASK_EVENTS", default=True)
CELERY_TASK_SEND_SENT_EVENT = CELERY_WORKER_SEND_TASK_EVENTS and env.bool("CELERY_TASK_SENT_EVENT", default=False)
CELERY_TIMEZONE = "UTC"

# --- Kaspi ------------------------------------------------------------------
KASPI_API_URL = env("KASPI_API_URL", default="https://kaspi.kz/shop/api/v2")
KASPI_CONNECT_TIMEOUT = env.float("KASPI_CONNECT_TIMEOUT", default=10.0)
KASPI_READ_TIMEOUT = env.float("KASPI_READ_TIMEOUT", default=60.0)
KASPI_SYNC_DAYS = env.int("KASPI_SYNC_DAYS", default=14)
KASPI_SYNC_OVERLAP_MINUTES = env.int("KASPI_SYNC_OVERLAP_MINUTES", default=60)
KASPI_OPEN_ORDERS_DAYS = env.int("KASPI_OPEN_ORDERS_DAYS", default=30)
KASPI_MAX_RETRIES = env.int("KASPI_MAX_RETRIES", default=5)

# --- WAHA -------------------------------------------------------------------
WAHA_URL = env("WAHA_URL", default="http://127.0.0.1:3000")
WAHA_API_KEY = env("WAHA_API_KEY", default="")
WAHA_SESSION = env("WAHA_SESSION", default="default")
WAHA_WEBHOOK_HMAC_KEY = env("WAHA_WEBHOOK_HMAC_KEY", default="")
# A webhook body larger than this is refused (413) before it is read.
WAHA_WEBHOOK_MAX_BYTES = env.int("WAHA_WEBHOOK_MAX_BYTES", default=262144)
# Where WAHA posts events, set on a session by admin's "Connect WhatsApp"; empty: this app's
# /webhooks/waha at the address the admin was opened with.
WAHA_WEBHOOK_URL = env("WAHA_WEBHOOK_URL", default="")
WAHA_SEND_INTERVAL_SECONDS = env.float("WAHA_SEND_INTERVAL_SECONDS", default=30.0)
WAHA_TIMEOUT = env.float("WAHA_TIMEOUT", default=30.0)
# Transient WAHA failures (5xx, 422, no connection) are retried with exponential backoff from
# WAHA_RETRY_BACKOFF_SECONDS, at most WAHA_SEND_MAX_ATTEMPTS tries per message.
WAHA_SEND_MAX_ATTEMPTS = env.int("WAHA_SEND_MAX_ATTEMPTS", default=5)
WAHA_RETRY_BACKOFF_SECONDS = env.float("WAHA_RETRY_BACKOFF_SECONDS", default=30.0)
# WhatsApp's 463 "reachout timelock": how long new-contact sends of that session stay paused.
WAHA_REACHOUT_PAUSE_HOURS = env.float("WAHA_REACHOUT_PAUSE_HOURS", default=24.0)
# Seen, typing and a short pause before each message, as WAHA advises against bans.
WAHA_HUMAN_PACING = env.bool("WAHA_HUMAN_PACING", default=False)

# --- OpenAI -----------------------------------------------------------------
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default=None)
OPENAI_MODEL = env("OPENAI_MODEL", default="gpt-4o-mini")
OPENAI_TIMEOUT = env.float("OPENAI_TIMEOUT", default=8.0)
OPENAI_MAX_RETRIES = env.int("OPENAI_MAX_RETRIES", default=2)
# Generation ends within this many seconds in any pool (the SDK's tries and backoff fit in it);
# the llm task's soft limit is a little longer, for the threads pool that ignores it anyway.
GENERATION_DEADLINE_SECONDS = OPENAI_TIMEOUT * (OPENAI_MAX_RETRIES + 1) + 2 * OPENAI_MAX_RETRIES + 2
GENERATION_TASK_SOFT_LIMIT = int(GENERATION_DEADLINE_SECONDS) + 30
# USD per million tokens, for the token cost on the metrics (defaults: gpt-4o-mini's list price).
OPENAI_INPUT_PRICE_PER_1M = env.float("OPENAI_INPUT_PRICE_PER_1M", default=0.15)
OPENAI_OUTPUT_PRICE_PER_1M = env.float("OPENAI_OUTPUT_PRICE_PER_1M", default=0.60)

# --- Seller policy defaults (per shop overrides live in the database) -------
SELLER_MAX_MESSAGES = env.int("SELLER_MAX_MESSAGES", default=3)
SELLER_CAP_WINDOW_DAYS = env.int("SELLER_CAP_WINDOW_DAYS", default=30)
SELLER_MAX_DAILY_MESSAGES = env.int("SELLER_MAX_DAILY_MESSAGES", default=100)
SELLER_COOLDOWN_HOURS = env.float("SELLER_COOLDOWN_HOURS", default=24)
SELLER_MAX_DEFER_HOURS = env.float("SELLER_MAX_DEFER_HOURS", default=72)
SELLER_QUIET_HOURS = env("SELLER_QUIET_HOURS", default="21:00-09:00")
SELLER_TIMEZONE = env("SELLER_TIMEZONE", default="Asia/Almaty")
SELLER_DELIVERED_DELAY_HOURS = env.float("SELLER_DELIVERED_DELAY_HOURS", default=48)
SELLER_POST_PURCHASE_DELAY_HOURS = env.float("SELLER_POST_PURCHASE_DELAY_HOURS", default=0)
# Recommendations count the shop's orders (what is bought with what) at most this often per
# process and basket, not for every message; 0 counts for every message.
SELLER_RECOMMENDATION_STATS_SECONDS = env.float("SELLER_RECOMMENDATION_STATS_SECONDS", default=60)
# The reconciler restarts a row that waited this long for its next step, and sends an `unknown`
# row once more when WAHA's chat history still does not show it after the grace period.
# Conversations: automatic answers (and handoff acknowledgements) per customer per 24 h.
SELLER_MAX_AUTO_REPLIES = env.int("SELLER_MAX_AUTO_REPLIES", default=3)
SELLER_STUCK_MINUTES = env.float("SELLER_STUCK_MINUTES", default=5)
SELLER_UNKNOWN_GRACE_MINUTES = env.float("SELLER_UNKNOWN_GRACE_MINUTES", default=10)
# A `sending` row older than WAHA's timeout plus this margin lost its worker and becomes `unknown`.
SELLER_SENDING_MARGIN_SECONDS = env.float("SELLER_SENDING_MARGIN_SECONDS", default=60)
# Does it sell: an order within this many days after a delivered message is attributed to it;
# this share of each shop's customers (0-100) gets no message, to measure the lift against.
SELLER_ATTRIBUTION_DAYS = env.float("SELLER_ATTRIBUTION_DAYS", default=7)
SELLER_HOLDOUT_PERCENT = env.float("SELLER_HOLDOUT_PERCENT", default=10)
# The lift's 95 % interval must be at most this wide (in repeat-rate points) to be shown as a result.
SELLER_LIFT_MAX_CI_WIDTH = env.float("SELLER_LIFT_MAX_CI_WIDTH", default=0.10)

# --- HTTP API ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI seller for Kaspi.kz",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Redacted once, by the formatters, over the whole line (a filter redacting the message first
    # doubled the cost of every line).
    "filters": {"ids": {"()": "config.logging.PipelineIdsFilter"}},
    "formatters": {
        "text": {"()": "config.logging.TextFormatter", "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["ids"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # axes: lockouts are warnings; its every-login notes are not worth a line.
    "loggers": {"httpx": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "aiseller",
    }
}
