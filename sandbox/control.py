"""The control and inspection API (/_sandbox/...): how tests and the demo set the stand-ins up,
break them on purpose, and see what the app did. JSON in, JSON out (see sandbox/README.md)."""

import html
import json
import zlib

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import data, llm, webhooks
from .state import DELIVERY_MODES, STATUSES

SESSION_STATUSES = ("STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED")
# "463": HTTP 500 (GOWS); "ack-error", "ack-463": 201, then an ack -1 (WEBJS, NOWEB);
# "422-no-session", "422-core": WAHA's permanent 422s; "drop": the connection closed after the send.
NAMED_FAULTS = ("463", "drop", "ack-error", "ack-463", "422-no-session", "422-core")
LIDS_MODES = ("ok", "pn_null", "400", "404", "500", "422")
ENGINES = ("GOWS", "WEBJS", "NOWEB", "WPP")


def ok(body, status=200):
    return Response(json.dumps(body, ensure_ascii=False), status, content_type="application/json")


def problem(message, status=400):
    return ok({"error": message}, status)


def _body(request):
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def index(state, request):
    base = request.host_url.rstrip("/")
    return ok({"KASPI_API_URL": f"{base}/kaspi/shop/api/v2", "WAHA_URL": f"{base}/waha",
               "OPENAI_BASE_URL": f"{base}/openai/v1", "sent": f"{base}/_sandbox/waha/sent.html"})


def reset(state, request):
    state.reset()
    return ok({"reset": True})


# --- Kaspi -------------------------------------------------------------------------------
def add_shop(state, request):
    body = _body(request)
    token = body.get("token")
    if not isinstance(token, str) or not token:
        return problem("token is required")
    orders = body.get("orders", 0)
    if not isinstance(orders, int) or not 0 <= orders <= 100_000:
        return problem("orders must be a number from 0 to 100000")
    try:
        shop = state.register_shop(token, orders=orders, seed=body.get("seed", 1), name=body.get("name"))
    except ValueError as exc:
        return problem(str(exc), 409)
    return ok(_shop_view(shop), 201)


def list_shops(state, request):
    with state.lock:
        return ok([_shop_view(shop) for shop in state.shops.values()])


def _shop_view(shop):
    return {"token": shop.token, "name": shop.name, "merchant_id": shop.merchant_id,
            "orders": len(shop.orders),
            "catalogue": [{"code": p.code, "name": p.name, "price": p.price, "category": p.category}
                          for p in shop.catalogue]}


def add_order(state, request):
    body = _body(request)
    shop = state.shops.get(body.get("token"))
    if shop is None:
        return problem("unknown shop token: POST /_sandbox/kaspi/shops first", 404)
    status, mode = body.get("status", "APPROVED_BY_BANK"), body.get("delivery_mode")
    created = body.get("created_ms")
    if created is not None and (not isinstance(created, int) or created < 10**11):
        return problem("created_ms must be epoch milliseconds")
    if status not in STATUSES:
        return problem(f"status must be one of {', '.join(STATUSES)}")
    if mode is not None and mode not in DELIVERY_MODES:
        return problem(f"delivery_mode must be one of {', '.join(DELIVERY_MODES)}")
    phone = body.get("phone")
    if phone:
        phone = data.international(phone)[1:]  # Kaspi gives 10 digits, no country code
        if len(phone) != 10:
            return problem("phone must be a Kazakhstan mobile number, e.g. 7011234567")
    try:
        items = _items(body.get("items"), shop.catalogue[0].category)
        order = state.create_order(shop.token, status, phone, body.get("first_name"),
                                   body.get("last_name"), items, created, mode)
    except (TypeError, ValueError, KeyError) as exc:
        return problem(f"bad order: {exc}")
    return ok(_order_view(state, order), 201)


def _items(items, default_category):
    """[(Product, quantity)] from the control API's items; None lets the shop pick."""
    if items is None:
        return None
    basket = []
    for item in items:
        code = str(item.get("product_code") or item.get("code") or "")
        product = data.PRODUCTS_BY_CODE.get(code)
        if product is None:
            name, price = item["name"], int(item["price"])
            category = item.get("category") if item.get("category") in data.CATEGORIES else default_category
            product = data.Product(code or str(100_000_000 + zlib.crc32(name.encode()) % 10**8),
                                   name, item.get("manufacturer", "Noname"), category, price, 0.5)
        quantity = int(item.get("quantity", 1))
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        basket.append((product, quantity))
    if not basket:
        raise ValueError("items must not be empty")
    return basket


def _order_view(state, order):
    with state.lock:
        c = order.customer
        return {"id": order.id, "code": order.code, "shop": order.shop, "status": order.status,
                "state": order.state, "phone": c["phone"], "first_name": c["first_name"],
                "last_name": c["last_name"], "created_ms": order.created_ms,
                "total_price": order.total_price, "delivery_mode": order.delivery_mode,
                "cancellation_reason": order.cancellation_reason,
                "items": [{"entry_id": e.id, "product_code": e.product.code, "name": e.product.name,
                           "quantity": e.quantity, "price": e.price, "category": e.product.category}
                          for e in order.entries]}


def get_order(state, request, code):
    order = state.orders_by_code.get(code)
    return ok(_order_view(state, order)) if order else problem("no such order", 404)


def set_status(state, request, code):
    body = _body(request)
    if code not in state.orders_by_code:
        return problem("no such order", 404)
    try:
        order = state.set_status(code, body.get("status"), body.get("cancellation_reason"))
    except ValueError as exc:
        return problem(str(exc))
    return ok(_order_view(state, order))


def set_quirks(state, request, code):
    """Make one order's replies odd in the ways Kaspi's are: `attributes` overrides what the
    order's resource says (e.g. {"creationDate": null} or a code longer than any column),
    `missing_included` leaves its first N entries out of `included` while still linking them,
    `product_null` makes its entries' product replies `{"data": null}`. {} clears them."""
    body = _body(request)
    order = state.orders_by_code.get(code)
    if order is None:
        return problem("no such order", 404)
    attributes, missing = body.get("attributes", {}), body.get("missing_included", 0)
    if not isinstance(attributes, dict) or not isinstance(missing, int) or missing < 0:
        return problem("attributes must be an object and missing_included a number >= 0")
    with state.lock:
        order.quirks = {"attributes": attributes, "missing_included": missing,
                        "product_null": bool(body.get("product_null"))}
        return ok({"code": code, "quirks": order.quirks})


def advance(state, request):
    token = _body(request).get("token")
    if token is not None and token not in state.shops:
        return problem("unknown shop token", 404)
    moved = state.advance(token)
    return ok({"moved": [{"code": o.code, "status": o.status, "state": o.state} for o in moved]})


def kaspi_faults(state, request):
    body = _body(request)
    responses = body.get("responses", [])
    if not all(isinstance(r, int) and 400 <= r <= 599 for r in responses):
        return problem("responses must be HTTP error statuses, e.g. [429, 500, 503]")
    forbidden_as = body.get("forbidden_as", state.kaspi_forbidden_as)
    if forbidden_as not in ("json", "token", "html"):
        return problem("forbidden_as must be json, token or html")
    with state.lock:
        if "responses" in body:
            state.kaspi_faults.clear()
            state.kaspi_faults.extend(responses)
        state.kaspi_forbidden_as = forbidden_as
        state.kaspi_retry_after = int(body.get("retry_after", state.kaspi_retry_after))
        state.kaspi_malformed = int(body.get("malformed", state.kaspi_malformed))
        state.kaspi_malformed_after = int(body.get("malformed_after", 0))
        state.kaspi_flaky_rate = float(body.get("flaky_rate", state.kaspi_flaky_rate))
        return ok({"responses": list(state.kaspi_faults), "forbidden_as": state.kaspi_forbidden_as,
                   "malformed": state.kaspi_malformed,
                   "malformed_after": state.kaspi_malformed_after, "flaky_rate": state.kaspi_flaky_rate})


def kaspi_stats(state, request):
    with state.lock:
        return ok({"requests": state.kaspi_requests, "by_status": dict(state.kaspi_by_status)})


def kaspi_requests(state, request):
    with state.lock:
        return ok(list(state.kaspi_log))


# --- WAHA --------------------------------------------------------------------------------
def set_session(state, request):
    body = _body(request)
    name = body.get("name") or "default"
    with state.lock:
        before = state.sessions.get(name)
        status = body.get("status", "WORKING")
        engine = str(body.get("engine") or (before or {}).get("engine", "GOWS")).upper()
        if status not in SESSION_STATUSES or engine not in ENGINES:
            return problem(f"status in {SESSION_STATUSES}, engine in {ENGINES}")
        session = dict(state.set_session(name, status, engine))
    if before is not None and before["status"] != status:
        webhooks.session_status_later(state, session)
    return ok(session)


def scan_qr(state, request, name):
    """The operator scans the QR code with their phone: the session is linked and WORKING."""
    body = _body(request)
    phone = data.international(str(body.get("phone") or "77001234567"))
    with state.lock:
        session = state.session_now(name)
        if session is None:
            return problem("no such session", 404)
        if session["status"] not in ("STARTING", "SCAN_QR_CODE"):
            return problem(f"the session is {session['status']}, not waiting for a scan", 409)
        session.update(status="WORKING", linked=True, me={"id": f"{phone}@c.us", "pushName": body.get("push_name") or "Shop"})
        session = dict(session)
    webhooks.session_status_later(state, session)
    return ok(session)


def lids(state, request):
    """How the lids endpoint answers (`mode`), and a lid's phone made known (`lid`, `phone`)."""
    body = _body(request)
    with state.lock:
        if "mode" in body:
            if body["mode"] not in LIDS_MODES:
                return problem(f"mode must be one of {', '.join(LIDS_MODES)}")
            state.lids_mode = body["mode"]
        if body.get("phone"):
            number = data.international(str(body["phone"]))
            state.lids[body.get("lid") or webhooks.lid_for(number)] = number
        return ok({"mode": state.lids_mode, "lids": dict(state.lids)})


def tier(state, request):
    value = _body(request).get("tier")
    if value not in ("CORE", "PLUS"):
        return problem("tier must be CORE or PLUS")
    with state.lock:
        state.waha_tier = value
    return ok({"tier": value})


def post_event(state, request):
    """Any event, as WAHA would post it (e.g. one the app does not know): `{event, payload, session}`."""
    body = _body(request)
    if not isinstance(body.get("event"), str) or not isinstance(body.get("payload", {}), dict):
        return problem("event (a string) is required; payload must be an object")
    with state.lock:
        session = dict(state.sessions.get(body.get("session") or "default") or {})
    if not session:
        return problem("no such session", 404)
    event = webhooks.envelope(session, body["event"], body.get("payload", {}))
    return ok({"status": webhooks.deliver(state, event), "event": event})


def not_on_whatsapp(state, request):
    phone = _body(request).get("phone")
    if not phone:
        return problem("phone is required")
    with state.lock:
        state.not_on_whatsapp.add(data.international(phone))
        return ok({"not_on_whatsapp": sorted(state.not_on_whatsapp)})


def waha_faults(state, request):
    body = _body(request)
    responses = body.get("responses", [])
    if not all(r in NAMED_FAULTS or (isinstance(r, int) and 400 <= r <= 599) for r in responses):
        return problem(f"responses must be HTTP error statuses or one of {', '.join(NAMED_FAULTS)}, e.g. [500, 422, \"463\"]")
    with state.lock:
        if "responses" in body:
            state.waha_faults.clear()
            state.waha_faults.extend(responses)
        state.waha_delay = float(body.get("delay_seconds", state.waha_delay))
        state.preview_delay = float(body.get("preview_delay_seconds", state.preview_delay))
        for name in ("flaky_rate", "drop_rate"):
            rate = body.get(name, getattr(state, f"waha_{name}"))
            if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                return problem(f"{name} must be a share from 0 to 1, e.g. 0.3")
            setattr(state, f"waha_{name}", float(rate))
        return ok({"responses": list(state.waha_faults), "delay_seconds": state.waha_delay,
                   "preview_delay_seconds": state.preview_delay, "flaky_rate": state.waha_flaky_rate,
                   "drop_rate": state.waha_drop_rate, "injected": dict(state.waha_by_fault)})


def _sent(state, request):
    chat_id = request.args.get("chat_id")
    with state.lock:
        return [dict(m) for m in state.sent if chat_id in (None, m["chatId"])]


def sent(state, request):
    return ok(_sent(state, request))


def sent_html(state, request):
    rows = "".join(f"<tr><td>{html.escape(m['time'])}</td><td>{html.escape(m['chatId'])}</td>"
                   f"<td>{html.escape(m['text'])}</td></tr>" for m in reversed(_sent(state, request)))
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sandbox WhatsApp: sent</title>"
            "<meta http-equiv='refresh' content='5'><style>body{font-family:sans-serif}"
            "td{padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top}</style></head>"
            "<body><h1>Messages sent through the WAHA stand-in</h1><table>"
            f"<tr><th>time</th><th>chat</th><th>text</th></tr>{rows}</table></body></html>")
    return Response(page, 200, content_type="text/html; charset=utf-8")


def chat_actions(state, request):
    chat_id = request.args.get("chat_id")
    with state.lock:
        return ok([dict(a) for a in state.chat_actions if chat_id in (None, a["chatId"])])


def set_webhook(state, request):
    body = _body(request)
    with state.lock:
        if "url" in body:
            state.webhook_url = body["url"] or None
        if "hmac_key" in body:
            state.webhook_hmac_key = body["hmac_key"] or ""
        if "ack_delay" in body:
            state.ack_delay = float(body["ack_delay"] or 0)
        return ok({"url": state.webhook_url, "hmac": bool(state.webhook_hmac_key),
                   "ack_delay": state.ack_delay})


def inbound(state, request):
    body = _body(request)
    if not body.get("phone") or not isinstance(body.get("body"), str):
        return problem("phone and body are required")
    with state.lock:
        session = state.sessions.get(body.get("session") or "default")
        session = dict(session) if session else None
        url = state.webhook_url or ((session or {}).get("webhooks") or [{}])[0].get("url")
    if session is None:
        return problem("no such session", 404)
    if not url:
        return problem("no webhook URL: start with webhook_url or POST /_sandbox/waha/webhook", 409)
    status, event = webhooks.inbound(state, session, body["phone"], body["body"], bool(body.get("as_lid")),
                                     lid_known=body.get("lid_known", True) is not False, alt=bool(body.get("alt")))
    return ok({"status": status, "event": event})


def set_talk_back(state, request):
    body = _body(request)
    try:
        share, delay = float(body.get("share", 0)), float(body.get("delay_seconds", 5))
    except (TypeError, ValueError):
        return problem("share and delay_seconds must be numbers")
    if not 0 <= share <= 1 or delay < 0:
        return problem("share must be from 0 to 1 and delay_seconds not negative")
    with state.lock:
        state.talk_back_share, state.talk_back_delay = share, delay
        state.talked_back.clear()
    return ok({"share": share, "delay_seconds": delay})


def webhook_log(state, request):
    with state.lock:
        return ok(list(state.webhooks))


def set_latency(state, request):
    """How long every WAHA call and every model answer takes, in milliseconds (benchmarks)."""
    body = _body(request)
    values = {key: body.get(key, 0) for key in ("waha_ms", "llm_ms")}
    if not all(isinstance(v, int | float) and 0 <= v <= 60_000 for v in values.values()):
        return problem("waha_ms and llm_ms must be milliseconds from 0 to 60000")
    with state.lock:
        state.waha_latency, state.llm_latency = values["waha_ms"] / 1000, values["llm_ms"] / 1000
    return ok(values)


# --- OpenAI ------------------------------------------------------------------------------
def set_mode(state, request):
    body = _body(request)
    mode, count = body.get("mode", "ok"), body.get("count")
    if mode not in llm.MODES:
        return problem(f"mode must be one of {', '.join(sorted(llm.MODES))}")
    if count is not None and (not isinstance(count, int) or count < 1):
        return problem("count must be a positive integer (omit it: until changed)")
    with state.lock:
        state.llm_mode, state.llm_count = mode, count
    return ok({"mode": mode, "count": count})


def set_repeat(state, request):
    """How often past customers order again in the demo, and how much more once messaged."""
    body = _body(request)
    values = {name: body.get(name, getattr(state, name)) for name in ("repeat_rate", "true_lift")}
    if not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in values.values()):
        return problem("repeat_rate and true_lift must be numbers from 0 to 1")
    with state.lock:
        for name, value in values.items():
            setattr(state, name, float(value))
    return ok(values)


def llm_requests(state, request):
    with state.lock:
        return ok(list(state.llm_requests))


RULES = [Rule(path, endpoint=view, methods=methods) for path, view, methods in [
    ("/_sandbox/", index, ["GET"]),
    ("/_sandbox/reset", reset, ["POST"]),
    ("/_sandbox/kaspi/shops", add_shop, ["POST"]),
    ("/_sandbox/kaspi/shops", list_shops, ["GET"]),
    ("/_sandbox/kaspi/orders", add_order, ["POST"]),
    ("/_sandbox/kaspi/orders/<code>", get_order, ["GET"]),
    ("/_sandbox/kaspi/orders/<code>/status", set_status, ["POST"]),
    ("/_sandbox/kaspi/orders/<code>/quirks", set_quirks, ["POST"]),
    ("/_sandbox/kaspi/advance", advance, ["POST"]),
    ("/_sandbox/kaspi/faults", kaspi_faults, ["POST"]),
    ("/_sandbox/kaspi/stats", kaspi_stats, ["GET"]),
    ("/_sandbox/kaspi/requests", kaspi_requests, ["GET"]),
    ("/_sandbox/waha/sessions", set_session, ["POST"]),
    ("/_sandbox/waha/sessions/<name>/scan", scan_qr, ["POST"]),
    ("/_sandbox/waha/lids", lids, ["POST"]),
    ("/_sandbox/waha/tier", tier, ["POST"]),
    ("/_sandbox/waha/event", post_event, ["POST"]),
    ("/_sandbox/waha/not-on-whatsapp", not_on_whatsapp, ["POST"]),
    ("/_sandbox/waha/faults", waha_faults, ["POST"]),
    ("/_sandbox/waha/sent", sent, ["GET"]),
    ("/_sandbox/waha/sent.html", sent_html, ["GET"]),
    ("/_sandbox/waha/actions", chat_actions, ["GET"]),
    ("/_sandbox/waha/webhook", set_webhook, ["POST"]),
    ("/_sandbox/waha/inbound", inbound, ["POST"]),
    ("/_sandbox/waha/webhooks", webhook_log, ["GET"]),
    ("/_sandbox/latency", set_latency, ["POST"]),
    ("/_sandbox/waha/talk-back", set_talk_back, ["POST"]),
    ("/_sandbox/openai/mode", set_mode, ["POST"]),
    ("/_sandbox/kaspi/repeat", set_repeat, ["POST"]),
    ("/_sandbox/openai/requests", llm_requests, ["GET"]),
]]
