import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ai_seller")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs):
    """Workers log through Django's LOGGING (masking, JSON, pipeline ids), not Celery's own handlers."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


# Opening a PostgreSQL connection costs more CPU (in the worker and in PostgreSQL) than a step's
# queries: a worker keeps its connections. Celery's Django fix-up would close them after every
# task; with CELERY_DB_REUSE_MAX (settings) it leaves them, and each task ends as Django ends a
# request instead: a connection that failed or is too old is closed, a pooled one handed back.
KEEP_CONNECTION_SECONDS = 60


@task_postrun.connect(dispatch_uid="aiseller-close-database")
def close_database_as_after_a_request(**kwargs):
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()


@worker_init.connect
def pool_database_connections(sender=None, **kwargs):
    """A threads worker: one pool per process, as large as its concurrency (no task ever waits
    for a connection; the llm threads hand theirs back while the model writes, so few are open)."""
    from django.conf import settings
    from django.db import connections

    if any(connection.connection is not None for connection in connections.all(initialized_only=True)):
        return  # a worker started inside a program already connected (a test): its settings stay
    database = settings.DATABASES["default"]
    threads = "thread" in str(getattr(sender, "pool_cls", "")).lower()
    if threads and database["ENGINE"].endswith("postgresql") and not database.get("CONN_MAX_AGE"):
        database.setdefault("OPTIONS", {}).setdefault(
            "pool", {"min_size": 1, "max_size": max(sender.concurrency if isinstance(sender.concurrency, int) else 8, 2),
                     "timeout": 30})


@worker_process_init.connect
def keep_database_connection(**kwargs):
    """A prefork worker's process runs one task at a time: it keeps its one connection."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql") and not database.get("OPTIONS", {}).get("pool"):
        database["CONN_MAX_AGE"] = KEEP_CONNECTION_SECONDS
