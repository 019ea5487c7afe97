"""Related products come from the shop's own catalogue, never what was just bought."""

import itertools

import pytest
from django.utils import timezone

from kaspi_sync.models import Order, OrderEntry, Product, Shop
from seller.recommendations import related_products

codes = itertools.count(1)


def product(shop, name, category="Наушники", sold=0):
    return Product.objects.create(shop=shop, code=str(100_000_000 + next(codes)), name=name,
                                  category_title=category, times_sold=sold)


def order(shop, *products, phone="+77010000000", state=Order.State.NEW):
    number = next(codes)
    placed = Order.objects.create(shop=shop, kaspi_id=f"id{number}", code=str(number), state=state,
                                  created_at_kaspi=timezone.now(), customer_phone=phone)
    for i, item in enumerate(products):
        OrderEntry.objects.create(order=placed, product=item, entry_number=i, name=item.name,
                                  category_title=item.category_title)
    return placed


@pytest.fixture
def store(db):
    return Shop.objects.create(name="Tech Store Almaty", kaspi_token="t")


def test_complements_bought_together_come_first_never_another_durable_item_of_the_same_category(store):
    headphones, case, cable = product(store, "JBL Tune 520BT"), product(store, "Чехол", "Чехлы"), product(store, "Кабель", "Кабели")
    cable_best_seller = product(store, "Кабель USB-C Baseus", "Кабели", sold=40)
    product(store, "AirPods Pro 2", sold=50)  # another pair of headphones: a substitute, not a suggestion
    order(store, headphones, case, phone="+77010000001")
    order(store, headphones, case, phone="+77010000002")
    order(store, headphones, cable, phone="+77010000003")

    assert related_products(order(store, headphones)) == [case, cable, cable_best_seller]


def test_a_category_customers_buy_again_may_suggest_its_best_sellers_but_never_another_size(store):
    size4 = product(store, "Pampers Premium Care 4 Maxi 9-14 кг", "Подгузники", sold=30)
    size5 = product(store, "Pampers Premium Care 5 Junior 11-16 кг", "Подгузники", sold=90)
    huggies = product(store, "Huggies Elite Soft 4", "Подгузники", sold=20)
    for n in range(5):  # five mothers come back for diapers
        order(store, size4, phone=f"+7701000000{n}")
        order(store, size4, phone=f"+7701000000{n}")

    suggested = related_products(order(store, size4, phone="+77019990000"))

    assert huggies in suggested and size5 not in suggested


def test_never_what_is_in_the_order_nor_what_the_customer_already_owns(store):
    headphones, case, glass = product(store, "JBL"), product(store, "Чехол", "Чехлы"), product(store, "Стекло", "Стекла")
    order(store, headphones, case, glass, phone="+77010000001")
    order(store, case, phone="+77015550000")

    # (a cancelled probe, so that it does not count as history for the next one)
    assert related_products(order(store, headphones, glass, phone="+77015550000", state=Order.State.CANCELLED)) == []
    assert related_products(order(store, headphones, phone="+77019990000")) == [case, glass]


def test_other_shops_and_cancelled_orders_do_not_count(store):
    other = Shop.objects.create(name="Other", kaspi_token="o")
    headphones, case = product(store, "JBL", "Наушники"), product(store, "Чехол", "Чехлы")
    order(store, headphones, case, phone="+77010000001", state=Order.State.CANCELLED)
    product(other, "AirPods of another shop", "Наушники", sold=99)

    assert related_products(order(store, headphones)) == []


def test_at_most_three(store):
    bought = product(store, "JBL")
    others = [product(store, name, f"Категория {name}") for name in ("Чехол", "Кабель", "Стекло", "Ремешок", "Сумка")]
    order(store, bought, *others, phone="+77010000001")

    assert len(related_products(order(store, bought))) == 3


def test_the_shops_counts_serve_a_minute_of_messages_the_same_then_take_in_new_orders(store, settings,
                                                                                    django_assert_num_queries):
    settings.SELLER_RECOMMENDATION_STATS_SECONDS = 60
    headphones, case, cable = product(store, "JBL Tune 520BT"), product(store, "Чехол", "Чехлы"), product(store, "Кабель", "Кабели")
    order(store, headphones, case, phone="+77010000001")
    first = order(store, headphones, phone="+77010000002")
    assert related_products(first) == [case]
    second = order(store, headphones, phone="+77010000003")
    second.shop  # noqa: B018  (loaded, as the writer's row has it)
    # Another customer's message within the minute: its entries and what the customer owns only.
    with django_assert_num_queries(2):
        assert related_products(second) == [case]

    order(store, headphones, cable, phone="+77010000004")
    order(store, headphones, cable, phone="+77010000005")
    assert related_products(order(store, headphones, phone="+77010000006")) == [case]  # counted a minute ago
    settings.SELLER_RECOMMENDATION_STATS_SECONDS = 0  # the minute is over: counted again
    assert related_products(order(store, headphones, phone="+77010000007")) == [cable, case]
