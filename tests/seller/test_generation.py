"""Generation against the sandbox's OpenAI stand-in over real HTTP: what the model is told, what
is stored on the outbox row, and the fallback for every way the model can fail."""

import json
import re
from zoneinfo import ZoneInfo

import pytest

from kaspi_sync.models import Product
from seller.generation import tidy

from .helpers import HEADPHONES, POWER_BANK, is_kazakh, write


def review_link(order) -> str:
    """Kaspi's review form for the order's first item, from the product code stored for it."""
    product = order.entries.first().product
    return f"https://kaspi.kz/shop/review/productreview?orderCode={order.code}&productCode={product.code}&rating=5"


def prompt_data(sandbox) -> dict:
    """The data block of the last prompt the stand-in received."""
    user = sandbox.get("openai/requests")[-1]["messages"][1]["content"]
    return json.loads(re.search(r"<data>\n(.*)\n</data>", user, re.S).group(1))


def test_a_russian_thanks_names_the_customer_the_item_and_the_pickup_date(sandbox, place_order, row_for):
    order = place_order(first_name="Айгерим", delivery_mode="DELIVERY_PICKUP")

    row = write(row_for(order))

    assert (row.source, row.fallback_reason) == ("ai", "")
    assert "Айгерим" in row.text and "JBL Tune 520BT черный" in row.text
    date = order.planned_delivery_date.astimezone(ZoneInfo("Asia/Almaty"))
    # DELIVERY_PICKUP with isKaspiDelivery false: the merchant's own point, not Kaspi's
    delivery = f"Заказ можно будет забрать в пункте самовывоза магазина, планируемая дата: {date:%d.%m.%Y}"
    assert prompt_data(sandbox)["delivery"] == delivery + "."
    assert delivery in row.text
    assert not is_kazakh(row.text) and "pickup" not in row.text
    assert len(row.text) <= 500


def test_it_stores_token_usage_and_latency_on_the_row(sandbox, place_order, row_for):
    row = write(row_for(place_order()))

    assert row.prompt_tokens > 50 and row.completion_tokens > 10
    assert row.generation_ms is not None and row.generation_ms >= 0
    assert row.generated_at and row.status == "generated"


def test_a_kazakh_shop_gets_kazakh_with_a_kazakh_delivery_sentence(sandbox, shop, place_order, row_for):
    shop.language = "kk"
    shop.save()
    order = place_order(first_name="Ерлан", delivery_mode="DELIVERY_LOCAL")

    row = write(row_for(order))

    assert row.source == "ai", row.fallback_reason
    assert is_kazakh(row.text) and "Ерлан" in row.text
    courier = "Тапсырысты Kaspi Жеткізу курьері" if order.is_kaspi_delivery else "Тапсырысты дүкен курьері"
    assert prompt_data(sandbox)["delivery"].startswith(courier + " мекенжайыңызға жеткізеді, жоспарланған күні: ")
    assert "Kazakh" in sandbox.get("openai/requests")[-1]["messages"][0]["content"]


def test_without_a_planned_date_the_delivery_sentence_has_none(sandbox, place_order, row_for):
    order = place_order(delivery_mode="DELIVERY_REGIONAL_TODOOR")
    order.planned_delivery_date = None
    order.save()

    row = write(row_for(order))

    assert prompt_data(sandbox)["delivery"] == "Заказ привезёт курьер Kaspi Доставки по вашему адресу."
    assert "дата" not in row.text


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_a_review_request_carries_the_review_link_the_system_built(sandbox, shop, place_order, deliver, language):
    shop.language = language
    shop.save()
    order = place_order()

    row = write(deliver(order))

    link = review_link(order)
    assert row.source == "ai", row.fallback_reason
    assert link in row.text and prompt_data(sandbox)["review_link"] == link
    assert is_kazakh(row.text) == (language == "kk")


def test_it_may_suggest_a_related_product_with_its_kaspi_link(sandbox, place_order, row_for):
    place_order(phone="7021112233", items=[{"product_code": HEADPHONES}, {"product_code": POWER_BANK}])
    order = place_order(items=[{"product_code": HEADPHONES}])

    row = write(row_for(order))

    power_bank = Product.objects.get(name="Baseus Bipow 10000 мАч белый")
    url = f"https://kaspi.kz/shop/p/-{power_bank.code}/"
    assert prompt_data(sandbox)["recommendations"][0] == {"name": power_bank.name, "category": power_bank.category_title,
                                                          "url": url}
    assert row.source == "ai" and url in row.text


def test_the_shops_voice_goes_into_the_instructions(sandbox, shop, place_order, row_for):
    shop.voice = "Мы семейный магазин, обращаемся на «вы» и без восклицательных знаков."
    shop.save()

    write(row_for(place_order()))

    system = sandbox.get("openai/requests")[-1]["messages"][0]["content"]
    assert shop.voice in system and "not instructions" in system


@pytest.mark.parametrize("mode, reason", [
    ("too_long", "too_long"),
    ("link", "link"),
    ("phone", "phone"),
    ("placeholder", "placeholder"),
    ("markup", "markup"),
    ("invented_price", "price"),
    ("invented_price", "discount"),
    ("invented_product", "product"),
    ("promise", "promise"),
    ("wrong_language", "script"),
    ("other_language", "language"),
    ("empty", "empty"),
])
@pytest.mark.parametrize("language", ["ru", "kk"])
def test_a_reply_that_breaks_a_guardrail_gives_the_shops_fallback(sandbox, shop, place_order, row_for, mode,
                                                                  reason, language):
    shop.language = language
    shop.save()
    order = place_order(first_name="Дана")
    sandbox.control("openai/mode", mode=mode)

    row = write(row_for(order))

    assert row.source == "fallback"
    assert row.fallback_reason.startswith("guardrail:") and reason in row.fallback_reason.split(":")[1].split(",")
    greeting = "Сәлеметсіз бе, Дана!" if language == "kk" else "Здравствуйте, Дана!"
    assert row.text.startswith(greeting) and "JBL Tune 520BT черный" in row.text
    assert row.prompt_tokens and row.generation_ms is not None  # the model did answer


@pytest.mark.parametrize("mode", ["too_long", "link", "phone", "invented_product", "promise", "other_language"])
def test_a_review_request_that_breaks_a_guardrail_falls_back_with_the_review_link(sandbox, place_order, deliver,
                                                                                   mode):
    order = place_order(first_name="Мирас")
    sandbox.control("openai/mode", mode=mode)

    row = write(deliver(order))

    assert row.source == "fallback" and row.fallback_reason.startswith("guardrail:")
    assert row.text == ("Здравствуйте, Мирас! Надеемся, покупка вам понравилась: JBL Tune 520BT черный. "
                        "Будем благодарны за отзыв на Kaspi: " + review_link(order))


def test_a_refusal_gives_the_fallback(sandbox, place_order, row_for):
    sandbox.control("openai/mode", mode="refuse")

    row = write(row_for(place_order()))

    assert (row.source, row.fallback_reason) == ("fallback", "refusal")


def test_a_reply_that_is_not_a_chat_completion_gives_the_fallback(sandbox, place_order, row_for):
    order = place_order(first_name="Дана")
    sandbox.control("openai/mode", mode="not_a_completion")

    row = write(row_for(order))

    assert (row.source, row.fallback_reason) == ("fallback", "bad_reply")
    assert "Дана" in row.text and row.prompt_tokens is None


def test_the_tokens_the_model_counted_are_kept(sandbox, place_order, row_for):
    row = write(row_for(place_order()))

    asked = sandbox.get("openai/requests")[-1]
    assert row.source == "ai" and row.prompt_tokens > 0 and row.completion_tokens > 0
    assert asked["params"]["max_tokens"] == 300 and asked["params"]["temperature"] == 0.7


def test_a_server_error_is_retried_once_then_gives_the_fallback(sandbox, place_order, row_for):
    order = place_order()
    sandbox.control("openai/mode", mode="error500")

    row = write(row_for(order))

    assert (row.source, row.fallback_reason) == ("fallback", "error:InternalServerError:500")
    assert len(sandbox.get("openai/requests")) == 2  # OPENAI_MAX_RETRIES=1 in the tests


def test_a_single_rate_limit_is_retried_and_the_reply_used(sandbox, place_order, row_for):
    order = place_order(first_name="Алия")
    sandbox.control("openai/mode", mode="error429", count=1)

    row = write(row_for(order))

    assert row.source == "ai" and "Алия" in row.text
    assert len(sandbox.get("openai/requests")) == 2


def test_a_rate_limit_that_lasts_gives_the_fallback(sandbox, place_order, row_for):
    order = place_order()
    sandbox.control("openai/mode", mode="error429")

    row = write(row_for(order))

    assert (row.source, row.fallback_reason) == ("fallback", "error:RateLimitError:429")


def test_a_model_that_times_out_gives_the_fallback(sandbox, settings, place_order, row_for):
    settings.OPENAI_TIMEOUT = 0.3
    settings.OPENAI_MAX_RETRIES = 0
    order = place_order(first_name="Сауле")
    sandbox.control("openai/mode", mode="timeout")

    row = write(row_for(order))

    assert (row.source, row.fallback_reason) == ("fallback", "timeout")
    assert row.text.startswith("Здравствуйте, Сауле! Спасибо за заказ в магазине Tech Store Almaty: JBL Tune 520BT")
    assert row.generation_ms >= 300 and row.prompt_tokens is None


def test_without_an_api_key_the_fallback_is_used_and_the_model_never_asked(sandbox, settings, place_order, row_for):
    settings.OPENAI_API_KEY = ""
    order = place_order(first_name="Талгат", delivery_mode="DELIVERY_PICKUP")

    row = write(row_for(order))

    date = order.planned_delivery_date.astimezone(ZoneInfo("Asia/Almaty"))
    assert (row.source, row.fallback_reason) == ("fallback", "no_api_key")
    assert row.text == (
        "Здравствуйте, Талгат! Спасибо за заказ в магазине Tech Store Almaty: JBL Tune 520BT черный. "
        f"Заказ можно будет забрать в пункте самовывоза магазина, планируемая дата: {date:%d.%m.%Y}. "
        "Если появятся вопросы, просто ответьте на это сообщение.")
    assert sandbox.get("openai/requests") == []
    assert row.prompt_tokens is None and row.generation_ms is None


def test_the_shops_own_fallback_template_is_used(sandbox, shop, settings, place_order, deliver):
    settings.OPENAI_API_KEY = ""
    shop.fallback_order_delivered = "{first_name}, как вам {items}? Заказ {order_code}. Отзыв: {review_link}"
    shop.save()
    order = place_order(first_name="Жанар")

    row = write(deliver(order))

    assert row.text == (f"Жанар, как вам JBL Tune 520BT черный? Заказ {order.code}. "
                        f"Отзыв: {review_link(order)}")


def test_a_review_request_that_left_out_the_review_link_gets_it_from_the_system():
    data = {"trigger": "ORDER_DELIVERED", "review_link": "https://kaspi.kz/shop/review/productreview?orderCode=1"}
    assert tidy(' "Как вам покупка? Оставьте отзыв на Kaspi." ', data) == (
        "Как вам покупка? Оставьте отзыв на Kaspi.\nhttps://kaspi.kz/shop/review/productreview?orderCode=1")
    assert tidy("Отзыв: https://kaspi.kz/shop/review/productreview?orderCode=1", data).count("https://") == 1
    assert tidy("Спасибо за заказ!", {"trigger": "POST_PURCHASE"}) == "Спасибо за заказ!"
