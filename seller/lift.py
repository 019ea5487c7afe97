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
    revenue_squares: float = 0.0  # the sum of each customer's revenue squared (for its variance)

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
    lift, and `enough_data`: the interval is at most `max_width` wide. Nulls while a group is empty.
    `revenue_per_customer`: the difference in tenge per customer and its interval (`welch`)."""
    revenue = revenue_lift(messaged, holdout)
    if not messaged.customers or not holdout.customers:
        return {"absolute": None, "relative": None, "ci95": None, "enough_data": False,
                "revenue_per_customer": revenue}
    absolute = messaged.repeat_rate - holdout.repeat_rate
    low, high = newcombe(messaged, holdout)
    return {
        "absolute": round(absolute, 4),
        "relative": round(absolute / holdout.repeat_rate, 4) if holdout.repeat_rate else None,
        "ci95": [round(low, 4), round(high, 4)],
        "enough_data": high - low <= max_width,
        "revenue_per_customer": revenue,
    }


def revenue_lift(messaged: Group, holdout: Group) -> dict:
    """Revenue per customer, messaged - held out, in tenge, with its 95 % interval (Welch's);
    nulls while a group has fewer than two customers."""
    interval = welch(messaged, holdout)
    if interval is None:
        return {"absolute": None, "ci95": None}
    difference = messaged.revenue / messaged.customers - holdout.revenue / holdout.customers
    return {"absolute": round(difference, 2), "ci95": [round(interval[0], 2), round(interval[1], 2)]}


def welch(treated: Group, control: Group) -> tuple[float, float] | None:
    """95 % interval of the difference of mean revenue per customer: Welch's t interval, from each
    group's count, sum and sum of squares (what SQL gives in the same pass, no customer's figure
    leaves the database). Welch's, because the held-out group is much smaller than the messaged
    one and their spreads differ; a customer's revenue is mostly zero and skewed, so with a few
    held-out buyers it covers less than it says (tests/sales/test_lift.py measures how much)."""
    if treated.customers < 2 or control.customers < 2:
        return None
    parts = []
    for group in (treated, control):
        mean = group.revenue / group.customers
        variance = max(0.0, (group.revenue_squares - group.customers * mean * mean) / (group.customers - 1))
        parts.append(variance / group.customers)
    difference = treated.revenue / treated.customers - control.revenue / control.customers
    spread = parts[0] + parts[1]
    if spread == 0:  # nobody bought in either group: nothing varies
        return difference, difference
    freedom = spread ** 2 / (parts[0] ** 2 / (treated.customers - 1) + parts[1] ** 2 / (control.customers - 1))
    half = t975(freedom) * math.sqrt(spread)
    return difference - half, difference + half


def t975(freedom: float) -> float:
    """Student's t 97.5 % quantile: exact for 1 and 2 degrees of freedom (rounded down, the wider
    side), the Cornish-Fisher expansion from 3 on (Abramowitz & Stegun 26.7.5; off by < 0.004)."""
    if freedom < 2:
        return 12.706204736174705
    if freedom < 3:
        return 4.302652729749464
    z, v = Z95, freedom
    return (z + (z ** 3 + z) / (4 * v) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * v ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * v ** 3)
            + (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / (92160 * v ** 4))
