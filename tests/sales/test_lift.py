"""The lift's interval, checked on generated histories with a known true lift: a 95 % interval
must cover the truth in about 95 % of shops, including a small shop and a lift of zero."""

import random

import pytest

from seller.lift import Group, lift, wilson

RUNS = 600


def history(rng: random.Random, customers: int, holdout_share: float, base_rate: float, true_lift: float):
    """One shop's customers: each held out or messaged at random, each buying again (or not)
    at the group's rate, for a random amount."""
    groups = {"messaged": [0, 0, 0.0, 0.0], "holdout": [0, 0, 0.0, 0.0]}
    for _ in range(customers):
        arm = "holdout" if rng.random() < holdout_share else "messaged"
        rate = base_rate + (true_lift if arm == "messaged" else 0)
        group = groups[arm]
        group[0] += 1
        if rng.random() < rate:
            spent = rng.uniform(3_000, 30_000)
            group[1] += 1
            group[2] += spent
            group[3] += spent * spent
    return Group(*groups["messaged"]), Group(*groups["holdout"])


MEAN_SPENT = (3_000 + 30_000) / 2  # so the true difference in revenue per customer is true_lift times it


def coverage(customers, holdout_share, base_rate, true_lift, seed, figure=("ci95",)) -> float:
    """How often the interval at `figure` in `lift` covered the truth (the repeat-rate lift, or
    the difference in revenue per customer)."""
    rng = random.Random(seed)
    truth = true_lift * MEAN_SPENT if figure[0] == "revenue_per_customer" else true_lift
    covered = tried = 0
    for _ in range(RUNS):
        messaged, held_out = history(rng, customers, holdout_share, base_rate, true_lift)
        found = lift(messaged, held_out, max_width=0.1)
        for key in figure:
            found = found[key]
        if found is None:
            continue
        tried += 1
        low, high = found
        covered += low <= truth <= high
    return covered / tried


@pytest.mark.parametrize("customers, holdout_share, base_rate, true_lift", [
    (300, 0.10, 0.10, 0.0),    # a small shop, no effect at all
    (300, 0.10, 0.10, 0.05),   # a small shop, a modest effect
    (2000, 0.10, 0.20, 0.03),  # a larger shop
    (400, 0.30, 0.02, 0.0),    # rare repeat purchases: rates near zero
])
def test_the_interval_covers_the_true_lift_at_about_95_percent(customers, holdout_share, base_rate, true_lift):
    found = coverage(customers, holdout_share, base_rate, true_lift, seed=customers + int(true_lift * 1000))
    # 600 runs: the binomial spread around 0.95 is about 0.009, so this band is three of it
    # and more on the conservative side, where Newcombe's interval errs with small groups.
    assert 0.92 <= found <= 0.99, found


def test_it_says_not_enough_data_while_the_interval_is_wide():
    small = lift(Group(40, 8, 0), Group(5, 1, 0), max_width=0.1)
    large = lift(Group(9000, 1800, 0), Group(1000, 150, 0), max_width=0.1)

    assert small["enough_data"] is False and small["ci95"][1] - small["ci95"][0] > 0.1
    assert large["enough_data"] is True
    assert large["absolute"] == 0.05 and large["relative"] == round(0.05 / 0.15, 4)
    assert large["ci95"][0] < 0.05 < large["ci95"][1]


def test_it_gives_no_lift_without_a_holdout():
    assert lift(Group(100, 10, 0), Group(0, 0, 0), max_width=0.1) == {
        "absolute": None, "relative": None, "ci95": None, "enough_data": False,
        "revenue_per_customer": {"absolute": None, "ci95": None}}


def test_a_group_where_nobody_bought_again_still_has_a_wide_interval():
    # Where the textbook interval collapses to zero width, Wilson's keeps room for a small rate.
    low, high = wilson(0, 10)
    assert low == 0 and high > 0.25


@pytest.mark.parametrize("customers, holdout_share, base_rate, true_lift", [
    (300, 0.10, 0.10, 0.0),
    (300, 0.10, 0.10, 0.05),
    (2000, 0.10, 0.20, 0.03),
    (400, 0.30, 0.02, 0.0),
])
def test_the_revenue_interval_covers_the_true_difference(customers, holdout_share, base_rate, true_lift):
    """Welch's interval on revenue per customer; the true difference is the lift times the mean
    amount spent. Measured: 0.848 and 0.847 for the small shop (thirty held out, three of them
    buying: skewed, mostly zero, it covers less than it says), 0.952 for the larger, 0.917 for
    rare purchases. The band is wide on the low side for that reason (README)."""
    found = coverage(customers, holdout_share, base_rate, true_lift, seed=customers + int(true_lift * 1000) + 1,
                     figure=("revenue_per_customer", "ci95"))
    assert 0.82 <= found <= 0.99, found


def test_the_revenue_difference_and_its_interval():
    messaged = Group(4, 2, 30_000.0, 10_000.0 ** 2 + 20_000.0 ** 2)  # spent 10,000 and 20,000; two nothing
    held_out = Group(3, 1, 6_000.0, 6_000.0 ** 2)
    found = lift(messaged, held_out, max_width=0.1)["revenue_per_customer"]

    assert found["absolute"] == 7_500.0 - 2_000.0
    low, high = found["ci95"]
    assert low < found["absolute"] < high and high - low > 20_000  # four and three customers: wide
    assert lift(Group(1, 1, 5.0, 25.0), held_out, 0.1)["revenue_per_customer"] == {"absolute": None, "ci95": None}
