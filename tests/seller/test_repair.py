"""One repair before the fallback: the model hears exactly what was wrong, once; both replies and
the reason stay on the row; the metrics count the repairs."""

from seller.ops import metrics

from .helpers import write

VOICE = "Дружелюбно, на «вы». Гарантия 12 месяцев на всю технику."


def test_a_reply_with_an_invented_number_is_repaired_and_sent_as_the_model_rewrote_it(sandbox, place_order, row_for):
    sandbox.control("openai/mode", mode="invented_number", count=1)

    row = write(row_for(place_order(first_name="Айгерим")))

    assert row.source == "ai" and row.fallback_reason == ""
    assert "3 дня" in row.first_reply and "3 дня" not in row.text
    assert row.repair_reason == "number:3" and row.second_reply == row.text
    repair = sandbox.get("openai/requests")[-1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": row.first_reply}
    assert "remove the number 3: it is not in the data" in repair[-1]["content"]


def test_a_product_named_in_plain_words_is_asked_to_go(sandbox, place_order, row_for):
    sandbox.control("openai/mode", mode="cyrillic_product", count=1)

    row = write(row_for(place_order()))

    assert row.source == "ai" and "плёнк" not in row.text and row.repair_reason.startswith("product:")
    assert "do not mention «плёнку»" in sandbox.get("openai/requests")[-1]["messages"][-1]["content"]


def test_a_model_that_repeats_its_mistake_gets_the_fallback_with_both_replies_kept(sandbox, place_order, row_for):
    sandbox.control("openai/mode", mode="invented_price")  # every reply

    row = write(row_for(place_order(first_name="Ерлан")))

    assert row.source == "fallback" and row.fallback_reason.startswith("guardrail:")
    assert "price" in row.fallback_reason and "4 990 ₸" in row.first_reply and "4 990 ₸" in row.second_reply
    assert row.text.startswith("Здравствуйте, Ерлан! Спасибо за заказ в магазине Tech Store Almaty")
    assert len(sandbox.get("openai/requests")) == 2  # one repair, never more


def test_a_realistic_reply_with_an_emoji_the_voice_and_a_signature_is_sent_as_written(sandbox, shop, place_order,
                                                                                      row_for):
    shop.voice = VOICE
    shop.save()
    sandbox.control("openai/mode", mode="realistic")

    row = write(row_for(place_order(first_name="Айгерим")))

    assert row.source == "ai" and row.repair_reason == "" and row.first_reply == ""
    assert "😊" in row.text and "Гарантия 12 месяцев на всю технику." in row.text
    assert row.text.endswith("С уважением, Tech Store Almaty")
    assert len(sandbox.get("openai/requests")) == 1


def test_the_metrics_count_repairs_asked_and_repairs_sent(sandbox, place_order, row_for):
    sandbox.control("openai/mode", mode="invented_number", count=1)
    write(row_for(place_order(phone="7011110001")))
    sandbox.control("openai/mode", mode="phone")
    write(row_for(place_order(phone="7011110002")))
    sandbox.control("openai/mode", mode="ok")
    write(row_for(place_order(phone="7011110003")))

    figures = metrics.collect(metrics.window(), None)[None]

    assert figures["generated"] == 3 and figures["fallback"] == 1
    assert figures["repairs"] == {"asked": 2, "repaired": 1}


def test_a_reply_too_long_gets_a_second_chance_to_be_short(sandbox, place_order, row_for):
    sandbox.control("openai/mode", mode="too_long", count=1)

    row = write(row_for(place_order()))

    assert row.source == "ai" and len(row.first_reply) == 2000 and len(row.text) <= 500
    assert row.repair_reason.startswith("too_long:")
    assert "shorten it to 350 characters (it has " in sandbox.get("openai/requests")[-1]["messages"][-1]["content"]


def test_a_phone_number_is_asked_away_without_being_repeated_on_the_row(sandbox, place_order, row_for):
    sandbox.control("openai/mode", mode="phone", count=1)

    row = write(row_for(place_order()))

    assert row.source == "ai" and row.repair_reason == "phone" and "555" not in row.text
    assert "555" not in sandbox.get("openai/requests")[-1]["messages"][-1]["content"]
