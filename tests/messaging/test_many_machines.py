"""Two worker groups as two machines (a network namespace each, where this box allows), sharing
one database, one broker and one Redis: two shops on one WhatsApp number get their orders'
messages with no duplicate, the daily cap and the per-customer cooldown held across the groups,
and the number's send pace never faster than WAHA_SEND_INTERVAL_SECONDS.

Both groups consume the same queues (sync, pipeline, llm, send), as machines added to scale out
do: any machine may take any task, so the two race for the same rows, caps and pace turns,
which is what must hold. Queues of their own per machine would test routing, not sharing, and
would strand a dead machine's tasks."""

import os
from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from kaspi_sync.models import Shop
from kaspi_sync.tasks import sync_all_shops
from messaging.models import OutboundMessage
from tests.helpers import wait_until

from . import hosts
from .workers import WorkerProcess, database_url

pytestmark = pytest.mark.django_db(transaction=True)
INTERVAL = 0.3
DAILY_CAP = 6
# Twelve customers a shop; the first four ordered in both (one WhatsApp number: one cooldown).
SHARED = [f"70100000{n:02d}" for n in range(1, 5)]
PHONES = {"a": SHARED + [f"70100000{n:02d}" for n in range(5, 13)],
          "b": SHARED + [f"70100000{n:02d}" for n in range(13, 21)]}


@pytest.fixture
def machines(transactional_db, sandbox, tmp_path, request):
    """Start the two groups with `start()`; everything (workers, relays, namespaces) goes at the end."""
    cleanup = []
    if request.node.callspec.params["network"] == "netns":
        hosts.remove_stale_namespaces()

    def start() -> list[WorkerProcess]:
        groups = []
        for tag in "ab":
            if request.node.callspec.params["network"] == "netns":
                host = hosts.Namespace(f"ais{os.getpid()}{tag}", hosts.free_subnet())
                cleanup.append(host.remove)
                address, prefix = host.gateway, host.command()
                urls = (database_url(), settings.REDIS_URL, settings.CELERY_BROKER_URL, sandbox.url)
                for port in {urlsplit(url).port for url in urls}:
                    cleanup.append(hosts.Relay(address, port).close)
            else:
                address, prefix = "127.0.0.1", ()
            env = {"DATABASE_URL": hosts.at(database_url(), address),
                   "REDIS_URL": hosts.at(settings.REDIS_URL, address),
                   "CELERY_BROKER_URL": hosts.at(settings.CELERY_BROKER_URL, address),
                   "KASPI_API_URL": hosts.at(settings.KASPI_API_URL, address),
                   "WAHA_URL": hosts.at(settings.WAHA_URL, address),
                   "OPENAI_BASE_URL": hosts.at(settings.OPENAI_BASE_URL, address)}
            worker = WorkerProcess(tmp_path / f"group-{tag}.log", concurrency=3, env=env, prefix=prefix,
                                   hostname=f"group-{tag}@machine-{tag}-{os.getpid()}", ready=False)
            cleanup.insert(0, worker.stop)  # workers first, then their relays and namespaces
            groups.append(worker)
        for worker in groups:
            worker.wait_ready()
        return groups

    yield start
    problems = []
    for step in cleanup:  # every step, even after one fails: no namespace left behind
        try:
            step()
        except Exception as exc:  # noqa: BLE001
            problems.append(exc)
    if problems:
        raise problems[0]


UNAVAILABLE = hosts.namespaces_unavailable()


@pytest.mark.parametrize("network", [
    pytest.param("netns", marks=pytest.mark.skipif(bool(UNAVAILABLE), reason=(
        f"network namespaces unavailable ({UNAVAILABLE}): the two groups run as separate processes on loopback "
        "instead ([loopback])"))),
    pytest.param("loopback", marks=pytest.mark.skipif(
        not UNAVAILABLE, reason="network namespaces available: [netns] runs the groups as separate hosts")),
])
def test_two_machines_share_the_pace_the_caps_and_never_send_twice(network, machines, sandbox, settings):
    settings.WAHA_SEND_INTERVAL_SECONDS = INTERVAL
    shops = {}
    for tag in "ab":
        token = f"kaspi-machines-token-{tag}"
        sandbox.control("kaspi/shops", token=token, orders=0)
        shops[tag] = Shop.objects.create(name=f"Shop {tag.upper()}", kaspi_token=token, max_daily_messages=DAILY_CAP,
                                         cooldown_hours=24)
        for phone in PHONES[tag]:
            sandbox.control("kaspi/orders", token=token, status="APPROVED_BY_BANK", phone=phone)
    group_a, group_b = machines()

    sync_all_shops.delay()

    rows = OutboundMessage.objects.all()
    wait_until(lambda: rows.count() == 24 and not rows.exclude(status__in=("sent", "deferred", "blocked")).exists(),
               timeout=45, what="all 24 orders' messages sent or held back")
    sent = sandbox.sent()
    by_shop = Counter(rows.filter(status="sent").values_list("shop__name", flat=True))
    assert by_shop == {"Shop A": DAILY_CAP, "Shop B": DAILY_CAP}  # each shop's daily cap, over both groups
    chats = Counter(message["chatId"] for message in sent)
    assert len(sent) == 2 * DAILY_CAP and max(chats.values()) == 1  # no duplicate, one message a customer
    # A customer of both shops got one message; the other shop's waits out the number's cooldown.
    cooled = [row for row in rows.filter(status="deferred") if row.events.last().note.startswith("cooldown")]
    assert cooled and all(chats[f"{row.phone.lstrip('+')}@c.us"] == 1 for row in cooled)
    assert {row.phone for row in cooled} <= {f"+7{phone}" for phone in SHARED}
    times = sorted(message["timestamp"] for message in sent)
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert min(gaps) >= INTERVAL, gaps  # one pace for the number, whichever machine sends
    # Both machines did the work (otherwise nothing was shared).
    assert "send_whatsapp" in group_a.output() and "send_whatsapp" in group_b.output()
