"""Fixtures for the Kaspi sync's tests: sandbox shops, orders and the requests Kaspi received."""

import time

import pytest

from kaspi_sync.models import Shop
from kaspi_sync.sync import sync_shop

DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


class KaspiShop:
    """A shop as both sides see it: our Shop row and the sandbox's Kaspi behind it."""

    def __init__(self, sandbox, shop):
        self.sandbox, self.shop = sandbox, shop
        self.since = 0.0

    def order(self, status="APPROVED_BY_BANK", days_ago: float = 0, **fields) -> dict:
        if days_ago:
            fields["created_ms"] = int(now_ms() - days_ago * DAY_MS)
        return self.sandbox.control("kaspi/orders", token=self.shop.kaspi_token, status=status, **fields)

    def set_status(self, code: str, status: str):
        self.sandbox.control(f"kaspi/orders/{code}/status", status=status)

    def sync(self, **options):
        self.shop.refresh_from_db()
        try:
            return sync_shop(self.shop, **options)
        finally:
            self.shop.refresh_from_db()

    def requests(self, path_part: str = "") -> list[dict]:
        return [r for r in self.sandbox.get("kaspi/requests") if r["at"] >= self.since and path_part in r["path"]]

    def order_lists(self, state: str | None = None) -> list[dict]:
        """The query of each GET /orders (the list), optionally of one tab."""
        return [r["args"] for r in self.requests() if r["path"].endswith("/orders")
                and state in (None, r["args"].get("filter[orders][state]"))]

    def forget_requests(self):
        """Later calls to requests() show only what comes next."""
        self.since = time.time()

    def faults(self, **body) -> dict:
        return self.sandbox.control("kaspi/faults", **body)


@pytest.fixture
def kaspi(sandbox, shop):
    return KaspiShop(sandbox, shop)


@pytest.fixture
def synced(kaspi):
    """A shop past its first sync: from now on, a new order is news, not history."""
    kaspi.sync()
    kaspi.forget_requests()
    return kaspi


def make_shop(sandbox, token: str, orders: int = 0, name: str = "Shop") -> KaspiShop:
    sandbox.control("kaspi/shops", token=token, orders=orders)
    return KaspiShop(sandbox, Shop.objects.create(name=name, kaspi_token=token))
