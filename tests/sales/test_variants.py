"""Variants of a trigger: split by weight, the same for a customer every time, written with the
variant's own words, and counted apart in the metrics."""

from collections import Counter
from datetime import timedelta

from messaging.models import OutboundMessage
from seller import variants, writer
from seller.models import Variant

from .conftest import order

PHONES = [f"+7701{n:07d}" for n in range(400)]


def two_variants(shop, short_weight=1, warm_weight=3):
    short = Variant.objects.create(shop=shop, trigger="POST_PURCHASE", name="short", weight=short_weight,
                                   fallback_template="Спасибо за заказ, {first_name}!")
    warm = Variant.objects.create(shop=shop, trigger="POST_PURCHASE", name="warm", weight=warm_weight,
                                  fallback_template="Здравствуйте, {first_name}! {shop} благодарит вас за заказ: {items}.")
    return short, warm


def test_customers_are_split_by_weight_and_always_get_the_same_variant(shop):
    two_variants(shop)

    chosen = [variants.choose(shop, "POST_PURCHASE", phone).name for phone in PHONES]

    assert chosen == [variants.choose(shop, "POST_PURCHASE", phone).name for phone in PHONES]
    shares = Counter(chosen)
    assert 60 <= shares["short"] <= 140 and shares["short"] + shares["warm"] == 400  # about a quarter
    assert variants.choose(shop, "ORDER_DELIVERED", PHONES[0]) is None  # no variants for that trigger


def test_a_message_is_written_with_its_variant_and_keeps_its_name(shop, now, settings):
    settings.OPENAI_API_KEY = ""  # the fallback: the variant's own template shows in the text
    two_variants(shop, short_weight=1, warm_weight=0)  # weight 0: nobody gets it
    placed = order(shop, PHONES[0], now - timedelta(minutes=1), state="accepted")
    placed.customer_first_name = "Айгерим"
    placed.save()
    row = OutboundMessage.objects.create(shop=shop, order=placed, trigger="POST_PURCHASE", phone=PHONES[0],
                                         status="approved")

    assert writer.write_message(row.pk)

    row.refresh_from_db()
    assert (row.status, row.variant, row.text) == ("generated", "short", "Спасибо за заказ, Айгерим!")


def test_a_variant_without_suggestions_gives_the_model_no_products(shop, now, sandbox, settings):
    Variant.objects.create(shop=shop, trigger="POST_PURCHASE", name="plain", suggest_product=False,
                           goal="Thank the customer for the order in one sentence.", voice="very short")
    placed = order(shop, PHONES[1], now - timedelta(minutes=1), state="accepted")
    row = OutboundMessage.objects.create(shop=shop, order=placed, trigger="POST_PURCHASE", phone=PHONES[1],
                                         status="approved")

    writer.write_message(row.pk)

    [request] = sandbox.get("openai/requests")
    system, user = request["messages"][0]["content"], request["messages"][1]["content"]
    assert "Thank the customer for the order in one sentence." in system and "very short" in system
    assert '"recommendations": []' in user
    row.refresh_from_db()
    assert row.variant == "plain"
