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


def test_items_bought_together_come_first_then_the_categorys_best_sellers(store):
    headphones, case, cable = product(store, "JBL Tune 520BT"), product(store, "Чехол", "Чехлы"), product(store, "Кабель", "Кабели")
    best_seller = product(store, "AirPods Pro 2", sold=50)
    product(store, "Redmi Buds 5", sold=10)
    order(store, headphones, case, phone="+77010000001")
    order(store, headphones, case, phone="+77010000002")
    order(store, headphones, cable, phone="+77010000003")

    assert related_products(order(store, headphones)) == [case, cable, best_seller]


def test_never_what_is_in_the_order_nor_what_the_customer_already_owns(store):
    headphones, buds, watch = product(store, "JBL", sold=1), product(store, "Buds", sold=9), product(store, "Watch", sold=5)
    order(store, buds, phone="+77015550000")

    assert related_products(order(store, headphones, watch, phone="+77015550000")) == []
    assert related_products(order(store, headphones, phone="+77019990000")) == [watch, buds]


def test_other_shops_and_cancelled_orders_do_not_count(store):
    other = Shop.objects.create(name="Other", kaspi_token="o")
    headphones, case = product(store, "JBL", "Наушники"), product(store, "Чехол", "Чехлы")
    order(store, headphones, case, phone="+77010000001", state=Order.State.CANCELLED)
    product(other, "AirPods of another shop", "Наушники", sold=99)

    assert related_products(order(store, headphones)) == []


def test_at_most_three(store):
    bought = product(store, "JBL")
    for n in range(5):
        product(store, f"Наушники {n}", sold=n)

    assert len(related_products(order(store, bought))) == 3
