"""The demo's customers buy again: at the configured rate, and more once a message reached them."""

import random

from sandbox.data import international
from sandbox.state import State


def test_messaged_customers_buy_again_by_the_true_lift():
    state = State(repeat_rate=0.0, true_lift=1.0)
    state.register_shop("demo-token", orders=0)
    reached = state.create_order("demo-token", phone="7011234567")
    state.create_order("demo-token", phone="7021234567")
    state.sent.append({"chatId": f"{international('7011234567')}@c.us", "session": "default", "text": "Спасибо!"})

    again = state.buy_again(random.Random(1))

    assert [order.customer["phone"] for order in again] == ["7011234567"]
    assert again[0].customer is reached.customer and again[0].status == "APPROVED_BY_BANK"


def test_the_base_rate_applies_to_everyone_who_bought_before():
    state = State(repeat_rate=0.5, true_lift=0.0)
    state.register_shop("demo-token", orders=0)
    for n in range(200):
        state.create_order("demo-token", phone=f"70{n:08d}")

    again = state.buy_again(random.Random(2))

    assert 70 <= len(again) <= 130


def test_the_rates_are_set_through_the_control_api(sandbox):
    assert sandbox.control("kaspi/repeat", repeat_rate=0.01, true_lift=0.02) == {"repeat_rate": 0.01, "true_lift": 0.02}
    assert sandbox.server.state.true_lift == 0.02
    import requests

    refused = requests.post(f"{sandbox.url}/_sandbox/kaspi/repeat", json={"true_lift": 3}, timeout=5)
    assert refused.status_code == 400 and "from 0 to 1" in refused.text
