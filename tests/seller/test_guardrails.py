"""The guardrails on their own: what the model may say given the data it was shown."""

import pytest

from sandbox import data as catalogue
from sandbox import writer
from seller.guardrails import problems

REVIEW = "https://kaspi.kz/shop/review/productreview?orderCode=496149022&productCode=109713498&rating=5"
DATA = {
    "trigger": "POST_PURCHASE", "language": "ru", "shop_name": "Tech Store Almaty", "customer_first_name": "Айгерим",
    "order_code": "496149022", "items": [{"name": "JBL Tune 520BT черный", "quantity": 2, "category": "Наушники"}],
    "recommendations": [{"name": "Baseus Bipow 10000 мАч белый", "category": "Внешние аккумуляторы", "url": "https://kaspi.kz/shop/p/-108123711/"}],
    "delivery": "Заказ можно будет забрать в пункте выдачи Kaspi, планируемая дата: 27.11.2026.",
}
DELIVERED = dict({k: v for k, v in DATA.items() if k != "delivery"}, trigger="ORDER_DELIVERED", review_link=REVIEW)
GOOD_RU = ("Здравствуйте, Айгерим! Спасибо за заказ: JBL Tune 520BT черный × 2. Заказ можно будет забрать "
           "в пункте выдачи Kaspi 27.11.2026. К наушникам пригодится Baseus Bipow 10000 мАч белый: "
           "https://kaspi.kz/shop/p/-108123711/")
GOOD_KK = ("Сәлеметсіз бе, Айгерим! Тапсырысыңызға рахмет: JBL Tune 520BT черный. Оны Kaspi беру пунктінен "
           "27.11.2026 алуға болады. Сұрақтарыңыз болса, жауап беріңіз.")


def test_a_warm_reply_that_uses_only_the_data_passes():
    assert problems(GOOD_RU, DATA) == []
    assert problems(GOOD_KK, dict(DATA, language="kk")) == []
    assert problems(f"Айгерим, как вам JBL Tune 520BT? Оставьте отзыв на Kaspi: {REVIEW}", DELIVERED) == []


@pytest.mark.parametrize("language", ["ru", "kk"])
@pytest.mark.parametrize("trigger", ["POST_PURCHASE", "ORDER_DELIVERED"])
def test_the_stand_ins_plain_replies_pass_for_every_catalogue_item(language, trigger):
    for product in catalogue.PRODUCTS:
        facts = dict(DATA if trigger == "POST_PURCHASE" else DELIVERED, language=language,
                     items=[{"name": product.name, "quantity": 1}])
        text = writer.write(facts)
        assert problems(text, facts) == [], text


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("  ...  ", "empty"),
    (GOOD_RU + " Спасибо!" * 60, "too_long"),
    (GOOD_RU + " Подробнее: http://evil.example/x", "link"),
    (GOOD_RU + " Заходите на shop-sale.kz", "link"),
    (GOOD_RU + " https://kaspi.kz/shop/p/-999999999/", "link"),  # a Kaspi link, but not one supplied
    (GOOD_RU + " Звоните: +7 701 555 12 34", "phone"),
    (GOOD_RU + " Звоните 87015551234", "phone"),
    ("Здравствуйте, {first_name}! Спасибо за заказ.", "placeholder"),
    ("Здравствуйте, [ИМЯ]! Спасибо за заказ.", "placeholder"),
    ("**Спасибо за заказ!** " + GOOD_RU, "markup"),
    ("<p>" + GOOD_RU + "</p>", "markup"),
    ("Спасибо за *ваш* заказ, Айгерим!", "markup"),
    ("Спасибо за заказ в *Tech Store Almaty*, Айгерим!", "markup"),
    ("Спасибо, Айгерим!\n- JBL Tune 520BT черный\n- чехол", "markup"),
    (GOOD_RU + " Цена всего 19 990 ₸.", "price"),
    (GOOD_RU + " Он стоит 19990 тенге.", "price"),
    (GOOD_RU + " Скидка 10% на следующий заказ!", "discount"),
    (GOOD_RU + " Ваш промокод на следующий заказ: AIGERIM.", "discount"),
    (GOOD_RU + " Доставка бесплатная.", "promise"),
    (GOOD_RU + " Привезём завтра, гарантируем!", "promise"),
    (GOOD_RU + " Мы дарим вам подарок.", "promise"),
    (GOOD_RU + " Заказ приедет через 3 дня.", "number"),
    (GOOD_RU + " Также советуем Samsung Galaxy S24.", "product"),
    (GOOD_RU + " Также советуем «Чехол-книжку кожаную».", "product"),
    ("Извините, я не могу помочь с этим запросом.", "refusal"),
    ("Hi Айгерим! Thank you for your order from Tech Store Almaty. We hope you love it!", "script"),
    ("Sälemetsız be, Aigerim! Tapsyrysyñyzğa rahmet!", "script"),
    ("Сәлеметсіз бе, Айгерим! Тапсырысыңызға рахмет, ол жақында дайын болады.", "language"),
])
def test_each_guardrail_catches_its_break(text, reason):
    assert reason in problems(text, DATA)


def test_a_russian_reply_is_refused_for_a_kazakh_shop():
    russian = "Здравствуйте, Айгерим! Спасибо за заказ: JBL Tune 520BT черный. Хорошего дня!"
    assert problems(russian, DATA) == []
    assert problems(russian, dict(DATA, language="kk")) == ["language"]


def test_kazakh_letters_inside_names_do_not_make_a_russian_reply_kazakh():
    facts = dict(DATA, customer_first_name="Әйгерім", shop_name="Әсем Дүкен")
    assert problems("Здравствуйте, Әйгерім! Спасибо за заказ в «Әсем Дүкен». Хорошего дня!", facts) == []


def test_numbers_and_words_quoted_from_the_data_are_not_inventions():
    facts = dict(DATA, items=[{"name": "Подарочный набор Nivea 3 в 1 со скидкой", "quantity": 3}])
    text = "Здравствуйте, Айгерим! Спасибо за заказ: Подарочный набор Nivea 3 в 1 со скидкой × 3."
    assert problems(text, facts) == []
    assert "discount" in problems(text + " И скидка на следующий!", facts)


def test_the_review_link_is_allowed_only_where_it_was_supplied():
    text = f"Айгерим, как вам покупка? Оставьте отзыв на Kaspi: {REVIEW}"
    assert problems(text, DELIVERED) == []
    assert "link" in problems(text, DATA)
    assert "link" in problems(text.replace("rating=5", "rating=1"), DELIVERED)
