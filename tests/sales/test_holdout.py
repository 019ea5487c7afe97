"""The holdout: a fixed share of customers gets nothing, and the lift is measured against them."""

from datetime import timedelta

from kaspi_sync.models import Shop
from messaging.models import OutboundMessage
from seller import eligibility, holdout
from seller.lift import Group, newcombe, welch

from .conftest import held_out, order, sent

PHONES = [f"+7701{n:07d}" for n in range(200)]


def pending_row(shop, phone, now):
    placed = order(shop, phone, now - timedelta(minutes=5), state="accepted")
    return OutboundMessage.objects.create(shop=shop, order=placed, trigger="POST_PURCHASE", phone=phone)


def test_held_out_customers_are_blocked_holdout_and_the_others_go_on(shop, now, settings, api):
    settings.SELLER_HOLDOUT_PERCENT = 10
    shop.max_daily_messages = 1000
    shop.save()
    rows = [pending_row(shop, phone, now) for phone in PHONES]

    for row in rows:
        eligibility.check_message(row.pk, now)

    statuses = {row.phone: OutboundMessage.objects.get(pk=row.pk) for row in rows}
    blocked = [phone for phone, row in statuses.items() if row.status == "blocked"]
    assert all(statuses[phone].reason == "holdout" for phone in blocked)
    assert 8 <= len(blocked) <= 35  # about a tenth of 200
    assert all(row.status == "approved" for phone, row in statuses.items() if phone not in blocked)
    figures = api.get("/ai-seller/metrics").json()
    assert figures["blocked"] == {"holdout": len(blocked)}
    assert figures["failed"] == 0 and figures["failed_by_reason"] == {}


def test_the_choice_never_flips_and_depends_on_the_shop_and_the_phone(shop, settings):
    settings.SELLER_HOLDOUT_PERCENT = 10
    again = Shop.objects.get(pk=shop.pk)  # as another worker, after a restart, would load it
    other = Shop.objects.create(name="Kitchen KZ", kaspi_token="kaspi-other-01")

    first = [holdout.held_out(shop, phone) for phone in PHONES]

    assert first == [holdout.held_out(again, phone) for phone in PHONES]
    assert first != [holdout.held_out(other, phone) for phone in PHONES]


def test_zero_turns_it_off_and_a_shop_may_choose_its_own_share(shop, settings):
    settings.SELLER_HOLDOUT_PERCENT = 0
    assert not any(holdout.held_out(shop, phone) for phone in PHONES)
    shop.holdout_percent = 100
    assert all(holdout.held_out(shop, phone) for phone in PHONES)
    shop.holdout_percent = 0
    settings.SELLER_HOLDOUT_PERCENT = 50
    assert not any(holdout.held_out(shop, phone) for phone in PHONES)


def test_the_metrics_compare_messaged_and_held_out_customers(api, shop, now, settings):
    settings.SELLER_ATTRIBUTION_DAYS = 7
    start = now - timedelta(days=20)
    for n in range(20):  # twenty messaged customers, ten buy again within the week
        phone = f"+7702{n:07d}"
        first = sent(shop, phone, start)
        sent(shop, phone, start + timedelta(days=1), trigger="ORDER_DELIVERED", placed=first.order)  # still one customer
        if n < 10:
            order(shop, phone, start + timedelta(days=3), total=12_000)
    for n in range(10):  # ten held out, two buy again within the week, one only after it
        phone = f"+7703{n:07d}"
        held_out(shop, phone, start)
        if n < 2:
            order(shop, phone, start + timedelta(days=2), total=9_000)
        if n == 2:
            order(shop, phone, start + timedelta(days=8), total=9_000)
    order(shop, "+77020000011", start + timedelta(days=4), state="cancelled")  # never counts

    figures = api.get("/ai-seller/metrics").json()

    assert figures["messaged"] == {"customers": 20, "repeat_rate": 0.5, "revenue_per_customer": 6000.0}
    assert figures["holdout"] == {"customers": 10, "repeat_rate": 0.2, "revenue_per_customer": 1800.0}
    low, high = newcombe(Group(20, 10), Group(10, 2))
    spent_low, spent_high = welch(Group(20, 10, 120_000, 10 * 12_000 ** 2), Group(10, 2, 18_000, 2 * 9_000 ** 2))
    assert figures["lift"] == {"absolute": 0.3, "relative": 1.5, "ci95": [round(low, 4), round(high, 4)],
                               "enough_data": False,
                               "revenue_per_customer": {"absolute": 4200.0,
                                                        "ci95": [round(spent_low, 2), round(spent_high, 2)]}}
    assert spent_low < 4200 < spent_high
    assert low < 0.3 < high
    [by_shop] = figures["by_shop"]
    assert (by_shop["messaged"]["customers"], by_shop["holdout"]["customers"]) == (20, 10)
    by_trigger = {t["trigger"]: t for t in figures["by_trigger"]}
    assert by_trigger["POST_PURCHASE"]["lift"]["absolute"] == 0.3
    assert by_trigger["ORDER_DELIVERED"]["holdout"]["customers"] == 0  # nobody held out of that trigger


def test_a_variant_is_compared_with_its_triggers_holdout(api, shop, now):
    for n in range(4):
        sent(shop, f"+7702{n:07d}", now - timedelta(days=3), variant="warm" if n % 2 else "short")
    order(shop, "+77020000001", now - timedelta(days=1), total=10_000)
    held_out(shop, "+77030000001", now - timedelta(days=3))

    variants = {v["variant"]: v for v in api.get("/ai-seller/metrics").json()["by_variant"]}

    assert set(variants) == {"short", "warm"}
    assert (variants["warm"]["sent"], variants["warm"]["messaged"]["repeat_rate"]) == (2, 0.5)
    assert variants["warm"]["holdout"]["customers"] == variants["short"]["holdout"]["customers"] == 1
    assert variants["short"]["lift"]["absolute"] == 0.0
    assert variants["warm"]["reply_rate_ci95"][0] == 0.0


def test_prometheus_counts_the_groups_and_the_attributed_orders(api, shop, now):
    from seller.attribution import attribute_orders
    from tests.ops.test_prometheus import scrape

    sent(shop, "+77020000001", now - timedelta(days=3))
    sent(shop, "+77020000002", now - timedelta(days=3))
    order(shop, "+77020000001", now - timedelta(days=1), total=15_000)
    held_out(shop, "+77030000001", now - timedelta(days=3))
    attribute_orders(now)

    metrics = scrape(api)

    def value(name, **labels):
        return metrics[(name, frozenset({"shop": str(shop.pk), **labels}.items()))]

    assert value("aiseller_attributed_orders", trigger="POST_PURCHASE") == 1
    assert value("aiseller_attributed_revenue_tenge", trigger="POST_PURCHASE") == 15_000
    assert value("aiseller_lift_customers", group="messaged", bought_again="yes") == 1
    assert value("aiseller_lift_customers", group="messaged", bought_again="no") == 1
    assert value("aiseller_lift_customers", group="holdout", bought_again="no") == 1
