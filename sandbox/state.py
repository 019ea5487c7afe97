"""The sandbox's whole world, in memory, behind one lock: shops and their orders (with the
order lifecycle), WAHA sessions and sent messages, and the LLM stand-in's mode."""

import bisect
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from . import data

STATES = ("NEW", "SIGN_REQUIRED", "PICKUP", "DELIVERY", "KASPI_DELIVERY", "ARCHIVE")
# ARRIVED (a pre-order the merchant marked arrived) is seen in production, beyond the documented eight.
STATUSES = ("APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT", "COMPLETED", "CANCELLING", "CANCELLED",
            "KASPI_DELIVERY_RETURN_REQUESTED", "RETURN_ACCEPTED_BY_MERCHANT", "RETURNED", "ARRIVED")
ARCHIVED = {"COMPLETED", "CANCELLED", "RETURNED", "KASPI_DELIVERY_RETURN_REQUESTED",
            "RETURN_ACCEPTED_BY_MERCHANT"}
FINISHED = {"COMPLETED", "CANCELLED", "RETURNED"}  # advance() leaves these alone
DELIVERY_MODES = ("DELIVERY_LOCAL", "DELIVERY_PICKUP", "DELIVERY_REGIONAL_TODOOR",
                  "DELIVERY_REGIONAL_PICKUP")
DAY_MS = 86_400_000


def now_ms():
    return int(time.time() * 1000)


@dataclass
class Entry:
    id: str
    number: int
    product: data.Product
    quantity: int
    price: int

    @property
    def total(self):
        return self.price * self.quantity


@dataclass
class Order:
    id: str
    code: str
    shop: str
    created_ms: int
    status: str
    customer: dict  # id, first_name, last_name, phone (never masked here)
    entries: list
    delivery_mode: str
    kaspi_delivery: bool
    payment_mode: str
    address: dict
    pickup_point: str
    planned_delivery_ms: int
    delivery_cost: int
    express: bool = False
    cancellation_reason: str = None
    # Odd replies Kaspi gives (see control.set_quirks): attribute overrides, entries linked but
    # left out of `included`, a product reply with `data: null`.
    quirks: dict = field(default_factory=dict)

    @property
    def state(self):
        # The cabinet tab follows from the status and how the order travels.
        if self.status == "APPROVED_BY_BANK":
            return "NEW"
        if self.status in ARCHIVED:
            return "ARCHIVE"
        if self.delivery_mode == "DELIVERY_PICKUP":
            return "PICKUP"
        return "KASPI_DELIVERY" if self.kaspi_delivery else "DELIVERY"

    @property
    def total_price(self):
        return float(sum(e.total for e in self.entries))


@dataclass
class Shop:
    token: str
    name: str
    merchant_id: str
    rng: random.Random
    catalogue: list
    customers: list = field(default_factory=list)
    orders: list = field(default_factory=list)  # sorted by (creation, code), parallel to keys
    keys: list = field(default_factory=list)

    def add(self, order):
        key = (order.created_ms, order.code)
        i = bisect.bisect(self.keys, key)
        self.keys.insert(i, key)
        self.orders.insert(i, order)

    def window(self, ge, le):
        """Orders created in [ge, le], by binary search so 10,000 orders page quickly."""
        lo = bisect.bisect_left(self.keys, (ge, ""))
        hi = bisect.bisect_right(self.keys, (le, "\uffff"))
        return self.orders[lo:hi]


class State:
    def __init__(self, waha_api_key="sandbox-waha-key", webhook_url=None, webhook_hmac_key="",
                 ack_delay=1.0, talk_back=0.0, repeat_rate=0.0, true_lift=0.0, waha_latency=0.0, llm_latency=0.0):
        self.lock = threading.RLock()
        self.stopping = threading.Event()  # set on shutdown so sleeping handlers wake up
        self.generation = 0  # bumped by reset(), so late webhooks of a previous test are dropped
        self.start_config = {"waha_api_key": waha_api_key, "webhook_url": webhook_url,
                             "webhook_hmac_key": webhook_hmac_key, "ack_delay": ack_delay,
                             "talk_back": talk_back, "repeat_rate": repeat_rate, "true_lift": true_lift,
                             "start_latency": (waha_latency, llm_latency)}
        self.reset()

    def reset(self):
        """Back to how the server started: no shops, no messages, the start configuration."""
        with self.lock:
            self.generation += 1
            for name, value in self.start_config.items():
                setattr(self, name, value)
            self.shops, self.orders_by_code, self.orders_by_id, self.entries_by_id = {}, {}, {}, {}
            self.seq = 0
            self.kaspi_faults, self.kaspi_retry_after, self.kaspi_malformed = deque(), 1, 0
            self.kaspi_malformed_after = 0  # good 200s to give before the malformed ones
            self.kaspi_flaky_rate, self.kaspi_flaky = 0.0, random.Random(7)
            self.kaspi_forbidden_as = "json"  # how a queued 403 answers: json, token or html
            self.kaspi_requests, self.kaspi_by_status = 0, Counter()
            self.kaspi_log = deque(maxlen=20_000)  # the latest requests, for tests to inspect
            self.sessions = {}
            self.set_session("default", "WORKING", "GOWS")
            self.sent, self.webhooks, self.chat_actions = [], [], []
            self.waha_faults, self.waha_delay = deque(), 0
            # Random faults until set back to 0: a share of all WAHA calls answers 5xx
            # (flaky_rate); a share of sendText calls drops the connection after sending (drop_rate).
            self.waha_flaky_rate, self.waha_drop_rate, self.waha_random = 0.0, 0.0, random.Random(9)
            self.waha_by_fault = Counter()
            # Latency of every WAHA call and every model answer, for benchmarks (seconds).
            self.waha_latency, self.llm_latency = self.start_latency
            self.not_on_whatsapp, self.lids = set(), {}
            self.lids_mode = "ok"  # or pn_null, 400 (NOWEB without store), 404 (old WAHA), 500, 422
            self.waha_tier = "PLUS"  # CORE serves only the `default` session
            self.preview_delay = 2.0  # seconds a sendText with a link spends on its preview
            self.qr_served = 0
            self.llm_mode, self.llm_count, self.llm_requests = "ok", None, []
            self.talk_back_share, self.talk_back_delay = self.start_config["talk_back"], 5.0
            self.talked_back, self.talk_back_rng, self.talk_back_turn = set(), random.Random("talk"), 0

    # --- Kaspi -------------------------------------------------------------------------
    def register_shop(self, token, orders=0, seed=1, name=None, now=None):
        rng = random.Random(f"{seed}:{token}")
        now = now or now_ms()
        with self.lock:
            if token in self.shops:
                raise ValueError(f"shop {token!r} exists; POST /_sandbox/reset to start over")
            shop = Shop(token, name or f"Магазин {token[:8]}", str(rng.randrange(10**7, 10**8)),
                        rng, data.shop_catalogue(rng))
            shop.customers = [self._customer(shop, data.person(rng)) for _ in range(max(5, orders * 7 // 10))]
            self.shops[token] = shop
            for _ in range(orders):
                age = rng.uniform(0, 30) * DAY_MS
                self._add_order(shop, int(now - age), _status_for_age(rng, age / DAY_MS))
            return shop

    def create_order(self, token, status="APPROVED_BY_BANK", phone=None, first_name=None,
                     last_name=None, items=None, created_ms=None, delivery_mode=None):
        with self.lock:
            shop = self.shops[token]
            # A known phone is a returning customer; otherwise mostly a new one (None: a random regular).
            person = next((c for c in shop.customers if phone and c["phone"] == phone), None)
            if person is None and (phone or first_name or last_name or shop.rng.random() < 0.7):
                person = data.person(shop.rng)
                given = {"phone": phone, "first_name": first_name, "last_name": last_name}
                person.update({k: v for k, v in given.items() if v})
                person = self._customer(shop, person)
            return self._add_order(shop, created_ms or now_ms(), status, person, items, delivery_mode)

    def set_status(self, code, status, reason=None):
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self.lock:
            order = self.orders_by_code[code]
            order.status = status
            order.cancellation_reason = (reason or "BUYER_CANCELLATION_HIMSELF") if status == "CANCELLED" else None
            return order

    def advance(self, token=None, share=1.0):
        """Move open orders one step of their life; `share` < 1 moves only some (the demo)."""
        moved = []
        with self.lock:
            for shop in [self.shops[token]] if token else list(self.shops.values()):
                for order in shop.orders:
                    if order.status in FINISHED or (share < 1 and shop.rng.random() >= share):
                        continue
                    status, reason = _next_status(order, shop.rng)
                    order.status, order.cancellation_reason = status, reason
                    moved.append(order)
        return moved

    def buy_again(self, rng) -> list:
        """Customers come back (the demo, each tick): each who has bought before orders again with
        the chance `repeat_rate`, plus `true_lift` once our WhatsApp message reached them, which is
        the effect the seller's lift should find. Returns the new orders."""
        new = []
        with self.lock:
            messaged = {m["chatId"].split("@")[0] for m in self.sent}
            for shop in list(self.shops.values()):
                buyers = {person["id"]: person for person in (order.customer for order in shop.orders)}
                for person in buyers.values():
                    chance = self.repeat_rate + (self.true_lift if data.international(person["phone"]) in messaged else 0)
                    if rng.random() < chance:
                        new.append(self._add_order(shop, now_ms(), "APPROVED_BY_BANK", person))
        return new

    def _customer(self, shop, person):
        person["id"] = data.opaque_id("customer", shop.merchant_id, len(shop.customers))
        shop.customers.append(person)
        return person

    def _add_order(self, shop, created_ms, status, person=None, items=None, mode=None):
        rng = shop.rng
        self.seq += 1
        num = 640_000_000 + self.seq
        code = str(rng.randrange(400_000_000, 999_999_999))
        while code in self.orders_by_code:
            code = str(rng.randrange(400_000_000, 999_999_999))
        mode = mode or rng.choices(DELIVERY_MODES, weights=[45, 25, 20, 10])[0]
        kaspi = mode != "DELIVERY_PICKUP" and (mode != "DELIVERY_LOCAL" or rng.random() < 0.7)
        basket = items if items is not None else data.basket(rng, shop.catalogue)
        order = Order(
            id=data.opaque_id(num), code=code, shop=shop.token, created_ms=created_ms,
            status=status, customer=person or rng.choice(shop.customers),
            entries=[Entry(data.opaque_id(num, i), i, product, qty, product.price)
                     for i, (product, qty) in enumerate(basket)],
            delivery_mode=mode, kaspi_delivery=kaspi,
            payment_mode=rng.choices(["PAY_WITH_CREDIT", "PREPAID"], weights=[35, 65])[0],
            address=None if mode == "DELIVERY_PICKUP" else data.address(rng),
            pickup_point=f"{shop.merchant_id}_PP{rng.randint(1, 2)}",
            planned_delivery_ms=created_ms + rng.randint(1, 5) * DAY_MS,
            delivery_cost=0 if kaspi or mode == "DELIVERY_PICKUP" else rng.choice([0, 1000, 1500]),
            express=kaspi and rng.random() < 0.2,
        )
        if status == "CANCELLED":
            order.cancellation_reason = rng.choice(data.CANCEL_BEFORE_ACCEPT + data.CANCEL_IN_DELIVERY)
        shop.add(order)
        self.orders_by_code[code] = order
        self.orders_by_id[order.id] = order
        for entry in order.entries:
            self.entries_by_id[entry.id] = (order, entry)
        return order

    def take_kaspi_fault(self):
        """The queued fault first; else, now and then, a random one (flaky_rate)."""
        with self.lock:
            if self.kaspi_faults:
                return self.kaspi_faults.popleft(), self.kaspi_retry_after
            if self.kaspi_flaky_rate and self.kaspi_flaky.random() < self.kaspi_flaky_rate:
                return self.kaspi_flaky.choice((429, 500, 502, 503)), self.kaspi_retry_after
            return None, 0

    def take_malformed(self):
        """0 for a normal reply, else which way to break it (1, 2 or 3; see kaspi.py)."""
        with self.lock:
            if not self.kaspi_malformed:
                return 0
            if self.kaspi_malformed_after:
                self.kaspi_malformed_after -= 1
                return 0
            self.kaspi_malformed -= 1
            return self.kaspi_malformed % 3 + 1

    def count_kaspi(self, status, request=None):
        with self.lock:
            self.kaspi_requests += 1
            self.kaspi_by_status[str(status)] += 1
            if request is not None:
                self.kaspi_log.append({"at": time.time(), "path": request.path, "args": request.args.to_dict(),
                                       "status": status})

    # --- WAHA --------------------------------------------------------------------------
    def set_session(self, name, status="WORKING", engine="GOWS", me=None, webhooks=None):
        with self.lock:
            before = self.sessions.get(name) or {}
            self.sessions[name] = {"name": name, "status": status, "engine": engine.upper(),
                                   "me": me or before.get("me") or {"id": "77000000000@c.us", "pushName": "Sandbox Shop"},
                                   "webhooks": webhooks if webhooks is not None else before.get("webhooks"),
                                   "linked": status == "WORKING" or before.get("linked", False),
                                   "changed_at": time.time()}
            return self.sessions[name]

    def session_now(self, name):
        """The session, moved on from STARTING to SCAN_QR_CODE after a moment, as WAHA does
        while the engine boots; None if unknown."""
        with self.lock:
            session = self.sessions.get(name)
            if session and session["status"] == "STARTING" and time.time() - session["changed_at"] > 0.5:
                session.update(status="SCAN_QR_CODE", changed_at=time.time())
            return session

    def take_waha_fault(self):
        """The queued sendText fault first; else, now and then, a dropped connection (drop_rate)."""
        with self.lock:
            if self.waha_faults:
                return self.waha_faults.popleft()
            if self.waha_drop_rate and self.waha_random.random() < self.waha_drop_rate:
                self.waha_by_fault["drop"] += 1
                return "drop"
            return None

    def take_waha_flaky(self):
        """None, or the 5xx status a flaky WAHA answers this call with (flaky_rate)."""
        with self.lock:
            if self.waha_flaky_rate and self.waha_random.random() < self.waha_flaky_rate:
                status = self.waha_random.choice((500, 502, 503))
                self.waha_by_fault[str(status)] += 1
                return status
            return None

    # --- LLM ---------------------------------------------------------------------------
    def take_llm_mode(self):
        with self.lock:
            mode = self.llm_mode
            if self.llm_count is not None:
                self.llm_count -= 1
                if self.llm_count <= 0:
                    self.llm_mode, self.llm_count = "ok", None
            return mode


def _status_for_age(rng, days):
    """A generated order's status: young orders are still open, old ones mostly done."""
    if days < 1:
        table = {"APPROVED_BY_BANK": 70, "ACCEPTED_BY_MERCHANT": 25, "CANCELLED": 5}
    elif days < 5:
        table = {"ACCEPTED_BY_MERCHANT": 60, "COMPLETED": 30, "CANCELLED": 10}
    else:
        table = {"COMPLETED": 80, "CANCELLED": 12, "RETURNED": 5, "ACCEPTED_BY_MERCHANT": 3}
    return rng.choices(list(table), weights=list(table.values()))[0]


def _next_status(order, rng):
    if order.status == "APPROVED_BY_BANK":
        if rng.random() < 0.08:
            return "CANCELLED", rng.choice(data.CANCEL_BEFORE_ACCEPT)
        return "ACCEPTED_BY_MERCHANT", None
    if order.status == "ACCEPTED_BY_MERCHANT":
        if rng.random() < 0.1:
            pickup = order.delivery_mode == "DELIVERY_PICKUP"
            return "CANCELLED", rng.choice(data.CANCEL_AT_PICKUP if pickup else data.CANCEL_IN_DELIVERY)
        return "COMPLETED", None
    following = {"ARRIVED": "ACCEPTED_BY_MERCHANT", "CANCELLING": "CANCELLED", "KASPI_DELIVERY_RETURN_REQUESTED": "RETURN_ACCEPTED_BY_MERCHANT",
                 "RETURN_ACCEPTED_BY_MERCHANT": "RETURNED"}
    return following[order.status], ("BUYER_CANCELLATION_BY_CSC" if order.status == "CANCELLING" else None)
