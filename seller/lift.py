"""The lift the messages cause, with a 95 % confidence interval a small shop can trust.

Two groups of customers: the messaged and the held out. Each customer either bought again
within the attribution window or did not, so each group gives a proportion (the repeat rate),
and the lift is their difference. Its interval is Newcombe's hybrid score interval (method 10
of Newcombe 1998), built from the two groups' Wilson score intervals:

- it keeps close to its stated 95 % coverage with a few dozen customers per group and with
  rates near zero, where the textbook Wald interval (p ± 1.96·se) is too narrow, can have zero
  width when no held-out customer bought again, and covers far less than it says;
- it needs no simulation (a bootstrap is unstable with ten held-out customers) and no prior;
- it is a closed form, so it costs nothing per shop, trigger and variant.

`tests/seller/test_lift.py` checks its coverage on generated histories with a known true lift.
"""

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Group:
    customers: int
    buyers: int  # customers who bought again within the window
    revenue: float = 0.0  # what those orders brought

    @property
    def repeat_rate(self) -> float | None:
        return self.buyers / self.customers if self.customers else None

    def as_dict(self) -> dict:
        rate = self.repeat_rate
        return {
            "customers": self.customers,
            "repeat_rate": None if rate is None else round(rate, 4),
            "revenue_per_customer": round(self.revenue / self.customers, 2) if self.customers else None,
        }


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(treated: Group, control: Group) -> tuple[float, float]:
    """95 % interval of treated.repeat_rate - control.repeat_rate (Newcombe's method 10)."""
    p1, p2 = treated.buyers / treated.customers, control.buyers / control.customers
    l1, u1 = wilson(treated.buyers, treated.customers)
    l2, u2 = wilson(control.buyers, control.customers)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


def lift(messaged: Group, holdout: Group, max_width: float) -> dict:
    """`absolute` (repeat-rate points), `relative` (to the held-out rate), `ci95` of the absolute
    lift, and `enough_data`: the interval is at most `max_width` wide. Nulls while a group is empty."""
    if not messaged.customers or not holdout.customers:
        return {"absolute": None, "relative": None, "ci95": None, "enough_data": False}
    absolute = messaged.repeat_rate - holdout.repeat_rate
    low, high = newcombe(messaged, holdout)
    return {
        "absolute": round(absolute, 4),
        "relative": round(absolute / holdout.repeat_rate, 4) if holdout.repeat_rate else None,
        "ci95": [round(low, 4), round(high, 4)],
        "enough_data": high - low <= max_width,
    }
