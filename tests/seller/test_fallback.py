"""The shop's fallback templates: what each produces, and what the admin refuses to save."""

import pytest
from django.forms.models import model_to_dict

from seller import fallback

REVIEW = "https://kaspi.kz/shop/review/productreview?orderCode=496149022&productCode=109713498&rating=5"
PLACED = {"trigger": "POST_PURCHASE", "language": "ru", "shop_name": "Tech Store Almaty", "customer_first_name": "Айгерим",
          "order_code": "496149022", "items": [{"name": "JBL Tune 520BT черный", "quantity": 1}],
          "delivery": "Заказ можно будет забрать в пункте выдачи Kaspi, планируемая дата: 27.11.2026."}
PLACED_KK = dict(PLACED, language="kk",
                 delivery="Тапсырысты Kaspi беру пунктінен алуға болады, жоспарланған күні: 27.11.2026.")
DELIVERED = dict({k: v for k, v in PLACED.items() if k != "delivery"}, trigger="ORDER_DELIVERED", review_link=REVIEW)


def default(data):
    return fallback.render(fallback.built_in(data["language"], data["trigger"]), data)


def test_each_built_in_template_reads_as_a_message():
    assert default(PLACED) == (
        "Здравствуйте, Айгерим! Спасибо за заказ в магазине Tech Store Almaty: JBL Tune 520BT черный. "
        "Заказ можно будет забрать в пункте выдачи Kaspi, планируемая дата: 27.11.2026. "
        "Если появятся вопросы, просто ответьте на это сообщение.")
    assert default(DELIVERED) == (
        "Здравствуйте, Айгерим! Надеемся, покупка вам понравилась: JBL Tune 520BT черный. "
        f"Будем благодарны за отзыв на Kaspi: {REVIEW}")
    assert default(PLACED_KK) == (
        "Сәлеметсіз бе, Айгерим! Tech Store Almaty дүкеніндегі тапсырысыңызға рахмет: JBL Tune 520BT черный. "
        "Тапсырысты Kaspi беру пунктінен алуға болады, жоспарланған күні: 27.11.2026. "
        "Сұрақтарыңыз болса, осы хабарламаға жауап беріңіз.")
    assert default(dict(DELIVERED, language="kk")) == (
        "Сәлеметсіз бе, Айгерим! Сатып алған тауарыңыз ұнады деп үміттенеміз: JBL Tune 520BT черный. "
        f"Kaspi-де пікір қалдырсаңыз, қуанамыз: {REVIEW}")


@pytest.mark.parametrize("data, start", [(PLACED, "Здравствуйте! Спасибо"), (PLACED_KK, "Сәлеметсіз бе! Tech Store"),
                                         (DELIVERED, "Здравствуйте! Надеемся")])
def test_without_a_first_name_the_greeting_has_no_dangling_comma(data, start):
    text = default(dict(data, customer_first_name=""))
    assert text.startswith(start) and ", !" not in text and ",!" not in text


def test_a_template_that_opens_with_the_name_still_reads_without_it():
    text = fallback.render("{first_name}, спасибо за покупку: {items}!", dict(PLACED, customer_first_name=""))
    assert text == "Спасибо за покупку: JBL Tune 520BT черный!"


def test_up_to_three_items_are_named_and_an_empty_order_says_your_order():
    items = [{"name": name, "quantity": 1} for name in ("Чай", "Кофе", "Сахар", "Мёд")]
    assert "Чай, Кофе, Сахар." in default(dict(PLACED, items=items))
    assert "Tech Store Almaty: ваш заказ." in default(dict(PLACED, items=[]))
    assert "рахмет: тапсырысыңыз." in default(dict(PLACED_KK, items=[]))


@pytest.mark.parametrize("template, trigger, message", [
    ("Здравствуйте, {name}!", "POST_PURCHASE", "Unknown placeholder {name}. Use only {first_name}, {items}"),
    ("Здравствуйте, {first_name!", "POST_PURCHASE", "Broken braces"),
    ("Здравствуйте, first_name}!", "POST_PURCHASE", "Broken braces"),
    ("Здравствуйте, {}!", "POST_PURCHASE", "Unknown placeholder {}"),
    ("Магазин {shop.name}", "POST_PURCHASE", "Unknown placeholder {shop.name}"),
    ("Здравствуйте, {first_name!r}", "POST_PURCHASE", "Write the placeholder plainly as {first_name}"),
    ("Отзыв: {review_link}", "POST_PURCHASE", "{review_link} exists only for order delivered messages"),
    ("{delivery}", "ORDER_DELIVERED", "{delivery} exists only for order placed messages"),
    ("Спасибо! " * 60, "POST_PURCHASE", "Keep the template under 450 characters"),
])
def test_a_broken_template_is_refused_with_a_clear_message(template, trigger, message):
    errors = fallback.template_errors(template, trigger)
    assert errors and message in errors[0]


def test_a_good_template_with_literal_braces_is_accepted():
    assert fallback.template_errors("{first_name}, заказ {order_code} {{подтверждён}}: {items}", "POST_PURCHASE") == []
    assert fallback.render("Заказ {order_code} {{ok}}", PLACED) == "Заказ 496149022 {ok}"


def test_a_broken_template_stored_before_validation_gives_the_built_in_one(shop):
    shop.fallback_post_purchase = "Здравствуйте, {name}!"
    assert fallback.template_for(shop, "POST_PURCHASE") == fallback.built_in("ru", "POST_PURCHASE")


def shop_form(shop, **changes):
    fields = {k: "" if v is None else v for k, v in model_to_dict(shop).items() if k != "kaspi_token"}
    return {**fields, **changes}


def test_the_admin_refuses_to_save_a_template_with_an_unknown_placeholder(admin_client, shop):
    response = admin_client.post(f"/admin/kaspi_sync/shop/{shop.pk}/change/",
                                 shop_form(shop, fallback_post_purchase="Привет, {name}! {items}"))

    assert response.status_code == 200
    assert "Unknown placeholder {name}. Use only {first_name}, {items}" in response.content.decode()
    shop.refresh_from_db()
    assert shop.fallback_post_purchase == ""


def test_the_admin_saves_a_valid_template_voice_language_and_triggers(admin_client, shop):
    response = admin_client.post(f"/admin/kaspi_sync/shop/{shop.pk}/change/", shop_form(
        shop, fallback_order_delivered=" {first_name}, отзыв: {review_link} ", voice="Коротко и по делу.",
        language="kk", post_purchase_enabled=""))

    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.fallback_order_delivered == "{first_name}, отзыв: {review_link}"
    assert (shop.voice, shop.language, shop.post_purchase_enabled) == ("Коротко и по делу.", "kk", False)
