"""The one place that talks to the Kaspi Shop API; replies become typed records here."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

JSON_API = "application/vnd.api+json"
PAGE_SIZE = 100  # Kaspi's maximum
MAX_WINDOW = timedelta(days=14)  # Kaspi refuses a longer creationDate window
# Every tab an order can be in; Kaspi requires one per request.
STATES = ("NEW", "SIGN_REQUIRED", "PICKUP", "DELIVERY", "KASPI_DELIVERY", "ARCHIVE")


class KaspiError(Exception):
    """Kaspi could not be read; `transient` says whether a later try may succeed."""

    transient = True


class KaspiAuthError(KaspiError):
    transient = False


class KaspiMalformedReply(KaspiError):
    transient = False


@dataclass(frozen=True)
class KaspiEntry:
    kaspi_id: str
    entry_number: int
    quantity: int
    base_price: Decimal
    total_price: Decimal
    name: str
    sku: str
    product_code: str
    category_code: str
    category_title: str


@dataclass(frozen=True)
class KaspiOrder:
    kaspi_id: str
    code: str
    state: str
    status: str
    created_at: datetime
    total_price: Decimal
    delivery_mode: str
    planned_delivery_date: datetime | None
    cancellation_reason: str
    phone: str
    first_name: str
    last_name: str
    entries: list[KaspiEntry] = field(default_factory=list)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value) -> datetime | None:
    return None if value in (None, "") else datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def windows(start: datetime, end: datetime):
    """Split [start, end] into creation-date windows Kaspi accepts."""
    while start < end:
        stop = min(start + MAX_WINDOW - timedelta(milliseconds=1), end)
        yield start, stop
        start = stop + timedelta(milliseconds=1)


class KaspiClient:
    def __init__(self, token: str, base_url: str | None = None, shop_label: str = ""):
        self.base_url = (base_url or settings.KASPI_API_URL).rstrip("/")
        self.shop_label = shop_label
        self.session = requests.Session()
        self.session.headers.update(
            {"X-Auth-Token": token, "Accept": JSON_API, "Content-Type": JSON_API, "User-Agent": "ai-seller/1.0"}
        )
        retry = Retry(
            total=5,
            backoff_factor=1,
            backoff_jitter=0.5,
            backoff_max=30,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=("GET",),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.timeout = (settings.KASPI_CONNECT_TIMEOUT, settings.KASPI_READ_TIMEOUT)

    def get(self, path: str, params: dict | None = None) -> dict:
        what = f"GET {path} for shop {self.shop_label}"
        try:
            response = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise KaspiError(f"{what}: {type(exc).__name__}") from exc
        if response.status_code in (401, 403):
            raise KaspiAuthError(f"{what}: token rejected (HTTP {response.status_code})")
        if response.status_code >= 500 or response.status_code == 429:
            raise KaspiError(f"{what}: HTTP {response.status_code} after retries")
        if response.status_code >= 400:
            raise KaspiMalformedReply(f"{what}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise KaspiMalformedReply(f"{what}: the reply is not JSON") from exc
        if not isinstance(body, dict) or "data" not in body:
            raise KaspiMalformedReply(f"{what}: the reply has no JSON:API data")
        return body

    def orders(self, state: str, start: datetime, end: datetime):
        """Every order in one state created in [start, end], with its entries, page by page."""
        for window_start, window_end in windows(start, end):
            page = 0
            while True:
                body = self.get(
                    "/orders",
                    {
                        "page[number]": page,
                        "page[size]": PAGE_SIZE,
                        "filter[orders][state]": state,
                        "filter[orders][creationDate][$ge]": to_ms(window_start),
                        "filter[orders][creationDate][$le]": to_ms(window_end),
                        "include[orders]": "entries",
                    },
                )
                yield from self.parse_orders(body, f"/orders page {page} state {state}")
                page_count = (body.get("meta") or {}).get("pageCount", 0)
                page += 1
                if page >= page_count:
                    break

    def parse_orders(self, body: dict, what: str) -> list[KaspiOrder]:
        try:
            included = {(item["type"], item["id"]): item for item in body.get("included") or []}
            return [self.parse_order(resource, included) for resource in body["data"]]
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise KaspiMalformedReply(f"{what} for shop {self.shop_label}: malformed order ({exc!r})") from exc

    def parse_order(self, resource: dict, included: dict) -> KaspiOrder:
        attrs = resource["attributes"]
        customer = attrs.get("customer") or {}
        links = ((resource.get("relationships") or {}).get("entries") or {}).get("data")
        if links is None:
            entries = self.entries(resource["id"])
        else:
            entries = [parse_entry(included[(link["type"], link["id"])]) for link in links]
        return KaspiOrder(
            kaspi_id=str(resource["id"]),
            code=str(attrs["code"]),
            state=attrs["state"],
            status=attrs["status"],
            created_at=from_ms(attrs["creationDate"]),
            total_price=Decimal(str(attrs.get("totalPrice") or 0)),
            delivery_mode=attrs.get("deliveryMode") or "",
            planned_delivery_date=from_ms(attrs.get("plannedDeliveryDate")),
            cancellation_reason=attrs.get("cancellationReason") or "",
            phone=customer.get("cellPhone") or "",
            first_name=customer.get("firstName") or "",
            last_name=customer.get("lastName") or "",
            entries=entries,
        )

    def entries(self, order_id: str) -> list[KaspiEntry]:
        body = self.get(f"/orders/{order_id}/entries")
        try:
            return [parse_entry(item) for item in body["data"]]
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise KaspiMalformedReply(f"entries of order {order_id} for shop {self.shop_label}: {exc!r}") from exc


def parse_entry(resource: dict) -> KaspiEntry:
    attrs = resource["attributes"]
    offer = attrs.get("offer") or {}
    category = attrs.get("category") or {}
    product = ((resource.get("relationships") or {}).get("product") or {}).get("data") or {}
    return KaspiEntry(
        kaspi_id=str(resource["id"]),
        entry_number=int(attrs.get("entryNumber") or 0),
        quantity=int(attrs.get("quantity") or 1),
        base_price=Decimal(str(attrs.get("basePrice") or 0)),
        total_price=Decimal(str(attrs.get("totalPrice") or 0)),
        name=offer.get("name") or "",
        sku=offer.get("code") or "",
        product_code=str(product.get("id") or offer.get("code") or ""),
        category_code=category.get("code") or "",
        category_title=category.get("title") or "",
    )
