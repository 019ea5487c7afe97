"""Kaspi Shop API v2 stand-in (orders), as strict as the real one: see shared/apis/kaspi.md."""

import json
import math

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from . import data
from .state import DAY_MS, STATES, STATUSES, now_ms

PREFIX = "/kaspi/shop/api/v2"
JSONAPI = "application/vnd.api+json"
MASKED = {"COMPLETED", "CANCELLED", "RETURNED"}  # reported: phones hidden once an order is over
FORBIDDEN_HTML = ("<!DOCTYPE html><html><head><title>403 Forbidden</title></head>"
                  "<body><h1>403 Forbidden</h1><p>Request blocked.</p></body></html>")
NOT_FOUND_HTML = ("<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
                  "<body><h1>Страница не найдена</h1></body></html>")


def error(status, title, headers=None):
    body = {"errors": [{"status": str(status), "title": title}]}
    return Response(json.dumps(body), status, headers=headers, content_type=JSONAPI)


def endpoint(view):
    """Every Kaspi request: queued faults first, then Accept and token, then the view."""
    def wrapped(state, request, **values):
        response = _refusal(state, request)
        shop = state.shops.get(request.headers.get("X-Auth-Token", ""))
        if response is None and shop is None:
            response = error(401, "Unauthorized: invalid or missing X-Auth-Token")
        if response is None:
            result = view(state, request, shop, **values)
            response = result if isinstance(result, Response) else _render(state, result)
        state.count_kaspi(response.status_code, request)
        return response
    return wrapped


def _refusal(state, request):
    fault, retry_after = state.take_kaspi_fault()
    if fault == 403 and state.kaspi_forbidden_as == "html":  # a firewall or geo-block in front of Kaspi
        return Response(FORBIDDEN_HTML, 403, content_type="text/html; charset=utf-8")
    if fault == 403 and state.kaspi_forbidden_as == "token":
        return error(403, "Access denied: invalid X-Auth-Token")
    if fault:
        headers = {"Retry-After": str(retry_after)} if fault == 429 else None
        return error(fault, HTTP_STATUS_CODES.get(fault, "Error"), headers)
    if JSONAPI not in request.headers.get("Accept", ""):
        # Kaspi answers an unexpected Accept with its site's HTML 404, not JSON.
        return Response(NOT_FOUND_HTML, 404, content_type="text/html; charset=utf-8")
    return None


def _render(state, body):
    """A 200 JSON:API reply, broken on purpose when the control API queued malformed ones."""
    how = state.take_malformed()
    if how == 1:
        body = {k: v for k, v in body.items() if k != "data"}
    elif how == 2:
        bare = [{k: v for k, v in item.items() if k != "attributes"}
                for item in (body["data"] if isinstance(body["data"], list) else [body["data"]])]
        body = dict(body, data=bare if isinstance(body["data"], list) else bare[0])
    elif how == 3:
        return Response('{"data": [{"type": "orders", "id": ', 200, content_type=JSONAPI)
    return Response(json.dumps(body, ensure_ascii=False), 200,
                    content_type=f"{JSONAPI};charset=UTF-8")


@endpoint
def list_orders(state, request, shop):
    args = request.args
    try:
        page, size = int(args["page[number]"]), int(args["page[size]"])
    except (KeyError, ValueError):
        return error(400, "page[number] and page[size] are required integers")
    if page < 0 or not 1 <= size <= 100:
        return error(400, "page[number] must be >= 0 and page[size] between 1 and 100")
    tab = args.get("filter[orders][state]")
    if tab not in STATES:
        return error(400, f"filter[orders][state] is required, one of {', '.join(STATES)}")
    try:
        ge = int(args["filter[orders][creationDate][$ge]"])
        le = int(args.get("filter[orders][creationDate][$le]", now_ms()))
    except (KeyError, ValueError):
        return error(400, "filter[orders][creationDate][$ge] is required, epoch milliseconds")
    if ge < 10**11 or le < 10**11:
        return error(400, "creationDate must be in epoch milliseconds")
    if le < ge or le - ge > 14 * DAY_MS:
        return error(400, "creationDate period must not exceed 14 days")
    status = args.get("filter[orders][status]")
    if status is not None and status not in STATUSES:
        return error(400, f"Unknown status {status}")
    kind = args.get("filter[orders][deliveryType]")
    if kind is not None and kind not in ("PICKUP", "DELIVERY"):
        return error(400, "filter[orders][deliveryType] must be PICKUP or DELIVERY")
    code = args.get("filter[orders][code]")
    include = _includes(args)
    if include is None:
        return error(400, "include[orders] may hold user and/or entries")
    with state.lock:
        found = [o for o in shop.window(ge, le)
                 if o.state == tab and status in (None, o.status) and code in (None, o.code)
                 and kind in (None, _delivery_type(o))]
        chunk = found[page * size:(page + 1) * size]
        body = _document(_base(request), chunk, include)
    body["meta"] = {"pageCount": math.ceil(len(found) / size), "totalCount": len(found)}
    return body


@endpoint
def get_order(state, request, shop, order_id):
    include = _includes(request.args)
    if include is None:
        return error(400, "include[orders] may hold user and/or entries")
    with state.lock:
        order = state.orders_by_id.get(order_id)
        if order is None or order.shop != shop.token:
            return error(404, "Order not found")
        body = _document(_base(request), [order], include)
    body["data"] = body["data"][0]
    return body


@endpoint
def order_entries(state, request, shop, order_id):
    with state.lock:
        order = state.orders_by_id.get(order_id)
        if order is None or order.shop != shop.token:
            return error(404, "Order not found")
        base = _base(request)
        return {"data": [_entry(base, e) for e in order.entries],
                "meta": {"pageCount": 1, "totalCount": len(order.entries)}}


@endpoint
def entry_product(state, request, shop, entry_id):
    with state.lock:
        order, entry = state.entries_by_id.get(entry_id, (None, None))
        if order is None or order.shop != shop.token:
            return error(404, "Order entry not found")
        if order.quirks.get("product_null"):
            return {"data": None}
    p = entry.product
    return {"data": {"type": "masterproducts", "id": data.opaque_id("product", p.code),
                     "attributes": {"code": p.code, "name": p.name, "manufacturer": p.manufacturer,
                                    "category": {"code": p.category, "title": data.CATEGORIES[p.category]}}}}


@endpoint
def order_user(state, request, shop, order_id):
    with state.lock:
        order = state.orders_by_id.get(order_id)
        if order is None or order.shop != shop.token:
            return error(404, "Order not found")
        return {"data": _customer(order)}


def not_found(state, request, rest=""):
    state.count_kaspi(404, request)
    return Response(NOT_FOUND_HTML, 404, content_type="text/html; charset=utf-8")


def _includes(args):
    wanted = {part for part in args.get("include[orders]", "").split(",") if part}
    return wanted if wanted <= {"user", "entries"} else None


def _delivery_type(order):
    return "PICKUP" if order.delivery_mode.endswith("PICKUP") else "DELIVERY"


def _base(request):
    return request.host_url.rstrip("/") + PREFIX


def _phone(order):
    phone = order.customer["phone"]
    return f"{phone[:2]}*****{phone[-3:]}" if order.status in MASKED else phone


def _document(base, orders, include):
    body = {"data": [_order(base, o, include) for o in orders]}
    included = {}  # JSON:API lists each included resource once
    for o in orders:
        missing = o.quirks.get("missing_included", 0)  # linked in relationships, left out here
        resources = [_entry(base, e) for e in o.entries[missing:]] if "entries" in include else []
        resources += [_customer(o)] if "user" in include else []
        for resource in resources:
            included.setdefault((resource["type"], resource["id"]), resource)
    if include:
        body["included"] = list(included.values())
    return body


def _customer(o):
    c = o.customer
    return {"type": "customers", "id": c["id"], "attributes": {
        "cellPhone": _phone(o), "firstName": c["first_name"], "lastName": c["last_name"], "name": None}}


def _order(base, o, include):
    c, url = o.customer, f"{base}/orders/{o.id}"
    attributes = {
        "code": o.code, "totalPrice": o.total_price, "paymentMode": o.payment_mode,
        "creationDate": o.created_ms, "approvedByBankDate": o.created_ms + 4 * 60_000,
        "plannedDeliveryDate": o.planned_delivery_ms, "reservationDate": o.created_ms + 3 * DAY_MS,
        "deliveryMode": o.delivery_mode, "isKaspiDelivery": o.kaspi_delivery,
        "pickupPointId": o.pickup_point, "signatureRequired": False,
        "creditTerm": 12 if o.payment_mode == "PAY_WITH_CREDIT" else 0,
        "preOrder": False, "assembled": o.status != "APPROVED_BY_BANK",
        "state": o.state, "status": o.status, "cancellationReason": o.cancellation_reason,
        "kaspiDelivery": _kaspi_delivery(o), "deliveryCost": float(o.delivery_cost),
        "deliveryCostForSeller": 0.0 if o.kaspi_delivery else float(o.delivery_cost),
        "customer": {"id": c["id"], "name": None, "cellPhone": _phone(o),
                     "firstName": c["first_name"], "lastName": c["last_name"]},
    }
    if o.address:
        attributes["deliveryAddress"] = o.address
    attributes.update(o.quirks.get("attributes", {}))
    entries, user = {"links": {"related": f"{url}/entries"}}, {"links": {"related": f"{url}/user"}}
    if "entries" in include:
        entries["data"] = [{"type": "orderentries", "id": e.id} for e in o.entries]
    if "user" in include:
        user["data"] = {"type": "customers", "id": c["id"]}
    return {"type": "orders", "id": o.id, "attributes": attributes,
            "relationships": {"entries": entries, "user": user}, "links": {"self": url}}


def _kaspi_delivery(o):
    if not o.kaspi_delivery:
        return None
    accepted = o.status != "APPROVED_BY_BANK"
    handed = accepted and o.status != "ACCEPTED_BY_MERCHANT"
    return {"waybill": f"https://kaspi.kz/merchantcabinet/api/order/waybill/{o.code}" if accepted else None,
            "waybillNumber": f"KD{o.code}" if accepted else None,
            "courierTransmissionPlanningDate": o.created_ms + DAY_MS,
            "courierTransmissionDate": o.created_ms + DAY_MS if handed else None,
            "express": o.express, "returnedToWarehouse": o.status == "RETURNED",
            "firstMileCourier": None}


def _entry(base, e):
    p = e.product
    return {"type": "orderentries", "id": e.id, "attributes": {
        "quantity": e.quantity, "basePrice": float(e.price), "totalPrice": float(e.total),
        "deliveryCost": 0.0, "entryNumber": e.number, "unitType": "PIECE", "weight": p.weight,
        "offer": {"code": p.sku, "name": p.name},
        "category": {"code": p.category, "title": data.CATEGORIES[p.category], "active": True}},
        "relationships": {"product": {
            "links": {"related": f"{base}/orderentries/{e.id}/product"},
            "data": {"type": "masterproducts", "id": data.opaque_id("product", p.code)}}}}


RULES = [
    Rule(f"{PREFIX}/orders", endpoint=list_orders, methods=["GET"]),
    Rule(f"{PREFIX}/orders/<order_id>", endpoint=get_order, methods=["GET"]),
    Rule(f"{PREFIX}/orders/<order_id>/entries", endpoint=order_entries, methods=["GET"]),
    Rule(f"{PREFIX}/orders/<order_id>/user", endpoint=order_user, methods=["GET"]),
    Rule(f"{PREFIX}/orderentries/<entry_id>/product", endpoint=entry_product, methods=["GET"]),
    Rule("/kaspi/<path:rest>", endpoint=not_found),
]
