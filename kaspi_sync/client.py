"""The one place that talks to the Kaspi Shop API; replies become typed records here."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

import orjson
import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

JSON_API = "application/vnd.api+json"
PAGE_SIZE = 100  # Kaspi's maximum
MAX_WINDOW = timedelta(days=14)  # Kaspi refuses a longer creationDate window
MAX_RETRY_AFTER = 60  # seconds: a longer Retry-After is cut down, so a sync never parks for an hour
# Kaspi requires one tab per request; ACTIVE are the tabs of orders still under way.
STATES = ("NEW", "SIGN_REQUIRED", "PICKUP", "DELIVERY", "KASPI_DELIVERY", "ARCHIVE")
ACTIVE_STATES = STATES[:-1]
PARSE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, InvalidOperation)


class KaspiError(Exception):
    """Kaspi could not be read; `transient` says whether a later try may succeed."""

    transient = True


class KaspiAuthError(KaspiError):
    """401, or a 403 whose JSON:API error names the token: the token is wrong or revoked.
    Retrying cannot help."""

    transient = False


class KaspiForbidden(KaspiError):
    """Any other 403: a firewall, a geo-block or a User-Agent filter may answer so, not only
    Kaspi about the token. The token is kept; the shop's syncs back off and an operator is told."""


class KaspiRefused(KaspiError):
    """Another 4xx: Kaspi refused the request as we made it."""

    transient = False


class KaspiNotFound(KaspiRefused):
    pass


class KaspiMalformedReply(KaspiError):
    transient = False

    def __init__(self, message: str, raw=None):
        super().__init__(message)
        self.raw = raw  # the decoded reply, when it was JSON: kept with a quarantined order


@dataclass(frozen=True, slots=True)
class KaspiEntry:
    kaspi_id: str
    entry_number: int
    quantity: int
    base_price: Decimal
    total_price: Decimal
    name: str
    sku: str  # the merchant's offer code
    product_ref: str  # Kaspi's opaque id of the product; its real code comes from entry_product()
    category_code: str
    category_title: str


@dataclass(frozen=True, slots=True)
class KaspiProduct:
    kaspi_id: str
    code: str  # the code of kaspi.kz/shop/p/-<code>/ and of the review link
    name: str
    category_code: str = ""
    category_title: str = ""


@dataclass(frozen=True, slots=True)
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
    entries: list[KaspiEntry] | None  # None: not included in the reply (fetched by their link)
    is_kaspi_delivery: bool | None = None  # None: Kaspi did not say
    pickup_point_id: str = ""
    raw: dict | None = field(default=None, compare=False, repr=False)  # the reply's resource


@dataclass(frozen=True, slots=True)
class RejectedOrder:
    """An order of a page that could not be parsed: the rest of the page goes on without it."""

    kaspi_id: str
    code: str
    raw: dict
    error: str


@dataclass(frozen=True, slots=True)
class Page:
    orders: list[KaspiOrder]
    number: int
    total: int  # meta.totalCount of the whole query, for progress bars
    rejected: list[RejectedOrder] = field(default_factory=list)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value) -> datetime | None:
    return None if value in (None, "") else datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def windows(start: datetime, end: datetime):
    """Split [start, end] into creation-date windows Kaspi accepts, without gaps or overlaps."""
    while start <= end:
        stop = min(start + MAX_WINDOW - timedelta(milliseconds=1), end)
        yield start, stop
        start = stop + timedelta(milliseconds=1)


class KaspiRetry(Retry):
    """urllib3's Retry, with Retry-After honoured up to MAX_RETRY_AFTER seconds."""

    def get_retry_after(self, response):
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


class KaspiClient:
    """One session per shop. Transient failures (connection errors, 429, 5xx) are retried here
    with backoff and jitter, a bounded number of times; what is left raises a KaspiError."""

    def __init__(self, token: str, base_url: str | None = None, shop_label: str = ""):
        self.base_url = (base_url or settings.KASPI_API_URL).rstrip("/")
        self.shop_label = shop_label
        self.session = requests.Session()
        self.session.headers.update(
            {"X-Auth-Token": token, "Accept": JSON_API, "Content-Type": JSON_API, "User-Agent": "ai-seller/1.0"}
        )
        retry = KaspiRetry(
            total=settings.KASPI_MAX_RETRIES,
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

    def read(self, path: str, params: dict | None, parser):
        """(parsed, meta) of one JSON:API reply, or a KaspiError naming the shop and the request."""
        what = f"{self.shop_label}: GET {path}" + (f"?{urlencode(params, safe='[]$')}" if params else "")
        try:
            response = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise KaspiError(f"{what}: {type(exc).__name__} after retries") from exc
        status = response.status_code
        if status == 401 or (status == 403 and names_the_token(response)):
            raise KaspiAuthError(f"{what}: token rejected (HTTP {status})")
        if status == 403:
            raise KaspiForbidden(f"{what}: HTTP 403 not about the token (a firewall or geo-block?): "
                                 f"{error_title(response)}")
        if status == 429 or status >= 500:
            raise KaspiError(f"{what}: HTTP {status} after retries")
        if status >= 400:
            refused = KaspiNotFound if status == 404 else KaspiRefused
            raise refused(f"{what}: HTTP {status}: {error_title(response)}")
        try:
            body = orjson.loads(response.content)  # a page of 100 orders is ~250 KB: 3x faster than json
        except orjson.JSONDecodeError as exc:
            raise KaspiMalformedReply(f"{what}: the reply is not JSON") from exc
        if not isinstance(body, dict) or "data" not in body:
            raise KaspiMalformedReply(f"{what}: the reply has no JSON:API data")
        meta = body.get("meta")
        try:
            return parser(body), meta if isinstance(meta, dict) else {}
        except PARSE_ERRORS as exc:
            raise KaspiMalformedReply(f"{what}: malformed reply ({exc!r})", raw=body) from exc

    def pages(self, state: str, start: datetime, end: datetime, with_entries: bool = True):
        """Pages of the orders in one tab created in [start, end], window by window."""
        for window_start, window_end in windows(start, end):
            page = 0
            while True:
                params = {
                    "page[number]": page,
                    "page[size]": PAGE_SIZE,
                    "filter[orders][state]": state,
                    "filter[orders][creationDate][$ge]": to_ms(window_start),
                    "filter[orders][creationDate][$le]": to_ms(window_end),
                }
                if with_entries:
                    params["include[orders]"] = "entries"
                (orders, rejected), meta = self.read("/orders", params, parse_orders)
                total = meta.get("totalCount")
                yield Page(orders, page, total=total if isinstance(total, int) else len(orders) + len(rejected),
                           rejected=rejected)
                page_count = meta.get("pageCount")
                if not isinstance(page_count, int):  # no meta: a full page may have a next one
                    page_count = page + 2 if len(orders) + len(rejected) == PAGE_SIZE else page + 1
                page += 1
                if page >= page_count:
                    break

    def order(self, kaspi_id: str) -> KaspiOrder | None:
        """One order by its id (None if Kaspi no longer has it), without entries."""
        try:
            return self.read(f"/orders/{kaspi_id}", None, lambda body: parse_order(body["data"], {}, keep_raw=True))[0]
        except KaspiNotFound:
            return None

    def entries(self, order_id: str) -> list[KaspiEntry]:
        return self.read(f"/orders/{order_id}/entries", None, lambda body: [parse_entry(e) for e in body["data"]])[0]

    def entry_product(self, entry_id: str) -> KaspiProduct | None:
        """The Kaspi product of an order entry: its real code, name and category; None when
        Kaspi has none (404, or `data: null`, a to-one relationship left empty)."""
        try:
            return self.read(f"/orderentries/{entry_id}/product", None,
                             lambda body: None if body["data"] is None else parse_product(body["data"]))[0]
        except KaspiNotFound:
            return None


def names_the_token(response) -> bool:
    """Whether a 403 is Kaspi's JSON:API error about the token, not a firewall's page. Kaspi's
    exact wording is not documented: any error whose title, detail or code mentions the token
    or the authentication counts (see shared apis notes, "403 is not always the token")."""
    try:
        errors = orjson.loads(response.content)["errors"]
        words = " ".join(str(e.get(key) or "") for e in errors for key in ("title", "detail", "code")).lower()
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return False
    return any(word in words for word in ("token", "auth"))


def error_title(response) -> str:
    try:
        return str(response.json()["errors"][0]["title"])[:200]
    except (ValueError, KeyError, IndexError, TypeError):
        return response.text[:200]


def text(value) -> str:
    if value is not None and not isinstance(value, str | int):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return "" if value is None else str(value)


def required(mapping: dict, key: str) -> str:
    value = text(mapping[key])
    if not value:
        raise ValueError(f"{key} is empty")
    return value


def required_moment(mapping: dict, key: str) -> datetime:
    moment = from_ms(mapping[key])
    if moment is None:
        raise ValueError(f"{key} is empty")
    return moment


def parse_orders(body: dict) -> tuple[list[KaspiOrder], list[RejectedOrder]]:
    """A page's orders, and those of its orders that could not be parsed (each on its own, so
    one odd order never costs the page)."""
    if not isinstance(body["data"], list):
        raise TypeError("data is not a list")
    included = {(item["type"], item["id"]): item for item in body.get("included") or []}
    orders, rejected = [], []
    for resource in body["data"]:
        try:
            orders.append(parse_order(resource, included, keep_raw=True))
        except PARSE_ERRORS as exc:
            rejected.append(rejected_order(resource, exc))
    return orders, rejected


def rejected_order(resource, exc: Exception) -> RejectedOrder:
    def safe(get):
        try:
            value = get()
            return value if isinstance(value, str) else ""
        except (KeyError, TypeError, AttributeError):
            return ""
    return RejectedOrder(kaspi_id=safe(lambda: resource["id"]), code=safe(lambda: resource["attributes"]["code"]),
                         raw=resource if isinstance(resource, dict) else {"data": resource},
                         error=f"cannot be parsed: {exc!r}"[:2000])


def parse_order(resource: dict, included: dict, keep_raw: bool = False) -> KaspiOrder:
    attrs = resource["attributes"]
    customer = attrs.get("customer") or {}
    links = ((resource.get("relationships") or {}).get("entries") or {}).get("data")
    # Kaspi's own sample links two entries and includes one: then all are fetched by their link.
    linked = None if links is None else [included.get((link["type"], link["id"])) for link in links]
    entries = None if linked is None or None in linked else [parse_entry(entry) for entry in linked]
    return KaspiOrder(
        kaspi_id=required(resource, "id"),
        code=required(attrs, "code"),
        state=required(attrs, "state"),
        status=required(attrs, "status"),
        created_at=required_moment(attrs, "creationDate"),
        total_price=Decimal(str(attrs.get("totalPrice") or 0)),
        delivery_mode=text(attrs.get("deliveryMode")),
        planned_delivery_date=from_ms(attrs.get("plannedDeliveryDate")),
        cancellation_reason=text(attrs.get("cancellationReason")),
        phone=text(customer.get("cellPhone")),
        first_name=text(customer.get("firstName")),
        last_name=text(customer.get("lastName")),
        entries=entries,
        is_kaspi_delivery=attrs.get("isKaspiDelivery") if isinstance(attrs.get("isKaspiDelivery"), bool) else None,
        pickup_point_id=text(attrs.get("pickupPointId")),
        raw=resource if keep_raw else None,
    )


def parse_entry(resource: dict) -> KaspiEntry:
    attrs = resource["attributes"]
    offer = attrs.get("offer") or {}
    category = attrs.get("category") or {}
    product = ((resource.get("relationships") or {}).get("product") or {}).get("data") or {}
    return KaspiEntry(
        kaspi_id=required(resource, "id"),
        entry_number=int(attrs.get("entryNumber") or 0),
        quantity=int(attrs.get("quantity") or 1),
        base_price=Decimal(str(attrs.get("basePrice") or 0)),
        total_price=Decimal(str(attrs.get("totalPrice") or 0)),
        name=text(offer.get("name")),
        sku=text(offer.get("code")),
        product_ref=text(product.get("id")),
        category_code=text(category.get("code")),
        category_title=text(category.get("title")),
    )


def parse_product(resource: dict) -> KaspiProduct:
    attrs = resource["attributes"]
    category = attrs.get("category") or {}
    return KaspiProduct(
        kaspi_id=required(resource, "id"),
        code=required(attrs, "code"),
        name=text(attrs.get("name")),
        category_code=text(category.get("code")) if isinstance(category, dict) else "",
        category_title=text(category.get("title")) if isinstance(category, dict) else "",
    )
