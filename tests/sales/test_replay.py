"""`manage.py replay`: the last N days through today's policy, changing and sending nothing."""

import json
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from config import redis
from kaspi_sync.models import Order
from messaging.models import MessageEvent, OptOut, OutboundMessage
from seller.models import Variant
from seller.replay import replay

from .conftest import order

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=ALMATY)


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=ALMATY)


@pytest.fixture
def busy_shop(shop):
    shop.quiet_hours, shop.max_daily_messages, shop.cooldown_hours, shop.max_messages = "21:00-09:00", 2, 24, 3
    shop.order_delivered_enabled = False
    shop.save()
    for n in range(3):  # three customers in one morning: the third waits for the next day
        order(shop, f"+7701000000{n}", at(18, 10, n), state="accepted")
    order(shop, "+77020000000", at(18, 22), state="accepted")  # late: waits for the morning
    order(shop, "+77070000000", at(17, 11), state="accepted")
    order(shop, "+77070000000", at(17, 15), state="accepted")  # same customer: the cooldown
    order(shop, "+77080000000", at(19, 11), state="cancelled")
    OptOut.objects.create(phone="+77050000000")
    order(shop, "+77050000000", at(19, 12), state="accepted")
    order(shop, "+77750000000", at(10, 12), state="accepted")  # before the period
    return shop


def test_it_says_how_many_would_go_when_and_what_stops_the_others(busy_shop, settings):
    settings.SELLER_HOLDOUT_PERCENT = 0
    report = replay(busy_shop, days=4, samples=2, now=NOW)

    assert (report["triggers"], report["messages"]) == (8, 6)
    assert report["blocked"] == {"cancelled:order_cancelled": 1, "opt_out": 1}
    # The 17th: one; the second order of that customer waits out the cooldown, then the daily cap.
    # The 18th: two of the three morning orders (daily cap 2); the third and the 22:00 order go
    # at 09:00 on the 19th, when quiet hours end; the cooldown's row is pushed to the 20th.
    assert report["deferred"] == {"quiet_hours": 4, "daily_cap": 3, "cooldown": 1}
    assert report["by_day"] == {"2026-11-17": 1, "2026-11-18": 2, "2026-11-19": 2, "2026-11-20": 1}
    assert report["by_hour"] == {9: 3, 10: 2, 11: 1}
    first_order = Order.objects.filter(customer_phone="+77070000000").order_by("created_at_kaspi").first()
    assert [s["order"] for s in report["samples"]] == [first_order.code,
                                                        Order.objects.get(created_at_kaspi=at(18, 10, 0)).code]
    assert "Спасибо за заказ" in report["samples"][0]["fallback_text"]
    assert report["model_cost_usd"] > 0


def test_it_changes_nothing_and_sends_nothing(busy_shop, sandbox):
    before = Order.objects.count()
    output = StringIO()

    call_command("replay", "--shop", str(busy_shop.pk), "--days", "3650", "--json", stdout=output)

    assert json.loads(output.getvalue())["messages"] > 0
    assert OutboundMessage.objects.count() == 0 and MessageEvent.objects.count() == 0
    assert Order.objects.count() == before
    assert list(redis.client().scan_iter(redis.PREFIX + "limits*")) == []
    assert sandbox.sent() == [] and sandbox.get("openai/requests") == []


def test_it_uses_todays_holdout_and_variants(busy_shop, settings):
    settings.SELLER_HOLDOUT_PERCENT = 100
    assert replay(busy_shop, days=4, now=NOW)["blocked"]["holdout"] == 6
    settings.SELLER_HOLDOUT_PERCENT = 0
    Variant.objects.create(shop=busy_shop, trigger="POST_PURCHASE", name="brief", fallback_template="Спасибо!")

    report = replay(busy_shop, days=4, now=NOW)

    assert report["by_variant"] == {"POST_PURCHASE / brief": 6}
    assert {s["fallback_text"] for s in report["samples"]} == {"Спасибо!"}


def test_it_reads_like_a_report_and_refuses_bad_input(busy_shop):
    output = StringIO()
    call_command("replay", "--shop", str(busy_shop.pk), "--days", "30", stdout=output)
    text = output.getvalue()
    assert "Nothing was changed or sent" in text and "Model cost at today's prices" in text

    with pytest.raises(CommandError, match="no shop 999999"):
        call_command("replay", "--shop", "999999", "--days", "3")
    with pytest.raises(CommandError, match="--days"):
        call_command("replay", "--shop", str(busy_shop.pk), "--days", "0")
