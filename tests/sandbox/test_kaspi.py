import time

import pytest

from .conftest import DAY_MS, JSONAPI

STATES = ("NEW", "SIGN_REQUIRED", "PICKUP", "DELIVERY", "KASPI_DELIVERY", "ARCHIVE")


@pytest.fixture
def shop(box):
    return box.control("kaspi/shops", expect=201, token="shop-token", orders=300, seed=1)


def now_ms():
    return int(time.time() * 1000)


def assert_error(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(JSONAPI)
    assert response.json()["errors"][0]["title"]


class TestRefusals:
    def test_it_refuses_an_unknown_or_missing_token(self, box, shop):
        assert_error(box.orders(token="nope"), 401)
        assert_error(box.orders(token=None), 401)

    def test_it_answers_a_wrong_accept_header_with_an_html_404(self, box, shop):
        response = box.orders(accept="application/json")
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("text/html")
        assert box.kaspi("/orders", accept="*/*").status_code == 404

    @pytest.mark.parametrize("missing", ["page[number]", "page[size]"])
    def test_it_requires_page_number_and_size(self, box, shop, missing):
        response = box.orders(**{missing: None})
        assert_error(response, 400)

    def test_it_refuses_a_page_size_over_100(self, box, shop):
        assert_error(box.orders(size=101), 400)
        assert box.orders(size=100).status_code == 200

    @pytest.mark.parametrize("state", [None, "", "COMPLETED", "new"])
    def test_it_requires_a_known_state(self, box, shop, state):
        assert_error(box.orders(state=state), 400)

    def test_it_requires_the_creation_date_lower_bound(self, box, shop):
        assert_error(box.orders(**{"filter[orders][creationDate][$ge]": None}), 400)

    def test_it_refuses_a_window_over_14_days(self, box, shop):
        assert_error(box.orders(days=14.01), 400)
        assert box.orders(days=14).status_code == 200
        # Without $le the window ends now, so an old $ge alone is refused too.
        assert_error(box.orders(**{"filter[orders][creationDate][$le]": None}, days=15), 400)

    def test_it_refuses_dates_in_seconds(self, box, shop):
        now = int(time.time())
        response = box.orders(**{"filter[orders][creationDate][$ge]": now - 86400,
                                 "filter[orders][creationDate][$le]": now})
        assert_error(response, 400)

    def test_it_refuses_unknown_filter_values(self, box, shop):
        assert_error(box.orders(**{"filter[orders][status]": "DELIVERED"}), 400)
        assert_error(box.orders(**{"filter[orders][deliveryType]": "COURIER"}), 400)
        assert_error(box.orders(**{"include[orders]": "products"}), 400)


class TestOrders:
    def test_it_pages_through_every_order_once(self, box, shop):
        now, seen = now_ms(), []
        # Three adjacent windows of at most 14 days cover the 30 days of generated orders.
        for start in (now - 31 * DAY_MS, now - 17 * DAY_MS, now - 3 * DAY_MS):
            end = min(start + 14 * DAY_MS - 1, now)
            for state in STATES:
                page, pages = 0, 1
                while page < pages:
                    body = box.orders(state=state, page=page, size=7, le=end,
                                      days=(end - start) / DAY_MS).json()
                    pages = body["meta"]["pageCount"]
                    assert all(o["attributes"]["state"] == state for o in body["data"])
                    seen += [o["id"] for o in body["data"]]
                    page += 1
        assert len(seen) == len(set(seen)) == 300

    def test_it_gives_meta_and_an_empty_page_past_the_end(self, box, shop):
        body = box.orders(state="ARCHIVE", size=10).json()
        total = body["meta"]["totalCount"]
        assert total > 10 and body["meta"]["pageCount"] == -(-total // 10)
        assert box.orders(state="ARCHIVE", size=10, page=body["meta"]["pageCount"]).json()["data"] == []

    def test_it_returns_the_documented_order_shape(self, box, shop):
        order = box.orders(state="ARCHIVE").json()["data"][0]
        attributes = order["attributes"]
        assert order["type"] == "orders" and order["id"] != attributes["code"]
        for key in ("code", "totalPrice", "paymentMode", "creationDate", "approvedByBankDate",
                    "plannedDeliveryDate", "deliveryMode", "isKaspiDelivery", "pickupPointId",
                    "signatureRequired", "state", "status", "cancellationReason", "kaspiDelivery",
                    "deliveryCost"):
            assert key in attributes
        assert set(attributes["customer"]) == {"id", "name", "cellPhone", "firstName", "lastName"}
        assert order["relationships"]["entries"]["links"]["related"].endswith(f"/orders/{order['id']}/entries")
        assert ("deliveryAddress" in attributes) == (attributes["deliveryMode"] != "DELIVERY_PICKUP")

    def test_it_includes_entries_when_asked(self, box, shop):
        plain = box.orders(state="ARCHIVE").json()
        assert "included" not in plain and "data" not in plain["data"][0]["relationships"]["entries"]
        body = box.orders(state="ARCHIVE", **{"include[orders]": "entries"}).json()
        included = {e["id"]: e for e in body["included"]}
        for order in body["data"]:
            refs = order["relationships"]["entries"]["data"]
            assert refs and all(ref["type"] == "orderentries" and ref["id"] in included for ref in refs)
            total = sum(included[ref["id"]]["attributes"]["totalPrice"] for ref in refs)
            assert total == order["attributes"]["totalPrice"]
        entry = next(iter(included.values()))["attributes"]
        assert {"quantity", "basePrice", "totalPrice", "entryNumber", "unitType", "weight"} <= set(entry)
        assert entry["offer"]["code"] and entry["offer"]["name"]
        assert entry["category"]["code"].startswith("Master - ") and entry["category"]["title"]

    def test_it_includes_each_customer_once_when_asked(self, box, shop):
        box.control("kaspi/orders", expect=201, token="shop-token", phone="7011234567")
        box.control("kaspi/orders", expect=201, token="shop-token", phone="7011234567")
        body = box.orders(state="NEW", days=1, **{"include[orders]": "user,entries"}).json()
        customers = [r for r in body["included"] if r["type"] == "customers"]
        assert len(customers) == len({c["id"] for c in customers})
        ids = {o["relationships"]["user"]["data"]["id"] for o in body["data"]}
        assert ids == {c["id"] for c in customers}
        assert "7011234567" in {c["attributes"]["cellPhone"] for c in customers}

    def test_it_serves_one_order_its_entries_and_their_product(self, box, shop):
        order = box.orders(state="ARCHIVE").json()["data"][0]
        one = box.kaspi(f"/orders/{order['id']}").json()["data"]
        assert one["attributes"]["code"] == order["attributes"]["code"]
        entries = box.kaspi(f"/orders/{order['id']}/entries").json()["data"]
        assert entries and entries[0]["type"] == "orderentries"
        user = box.kaspi(f"/orders/{order['id']}/user").json()["data"]
        assert user["type"] == "customers" and user["id"] == order["attributes"]["customer"]["id"]
        product = box.kaspi(f"/orderentries/{entries[0]['id']}/product").json()["data"]
        assert product["type"] == "masterproducts"
        assert product["attributes"]["code"].isdigit() and product["attributes"]["manufacturer"]

    def test_it_hides_one_shops_orders_from_another(self, box, shop):
        box.control("kaspi/shops", expect=201, token="other-shop", orders=1)
        order = box.orders(state="ARCHIVE").json()["data"][0]
        assert_error(box.kaspi(f"/orders/{order['id']}", token="other-shop"), 404)

    def test_it_filters_by_status_delivery_type_and_code(self, box, shop):
        cancelled = box.orders(state="ARCHIVE", **{"filter[orders][status]": "CANCELLED"}).json()["data"]
        assert cancelled and all(o["attributes"]["status"] == "CANCELLED" for o in cancelled)
        assert all(o["attributes"]["cancellationReason"] for o in cancelled)
        pickups = box.orders(state="ARCHIVE", **{"filter[orders][deliveryType]": "PICKUP"}).json()["data"]
        assert pickups and all(o["attributes"]["deliveryMode"].endswith("PICKUP") for o in pickups)
        code = cancelled[0]["attributes"]["code"]
        found = box.orders(state="ARCHIVE", **{"filter[orders][code]": code}).json()
        assert [o["attributes"]["code"] for o in found["data"]] == [code]
        assert box.orders(state="NEW", **{"filter[orders][code]": code}).json()["data"] == []

    def test_it_has_realistic_people_and_phones(self, box, shop):
        new = box.orders(state="NEW", days=2).json()["data"]
        assert new
        for order in new:
            customer = order["attributes"]["customer"]
            phone = customer["cellPhone"]
            assert len(phone) == 10 and phone.isdigit()
            assert phone[:3] in {"700", "701", "702", "703", "704", "705", "706", "707", "708",
                                 "747", "771", "775", "776", "777", "778"}
            assert customer["firstName"] and customer["lastName"] and customer["name"] is None


class TestLifecycle:
    def test_it_masks_the_phone_once_an_order_is_over(self, box, shop):
        made = box.control("kaspi/orders", expect=201, token="shop-token", phone="7011234567",
                           first_name="Айгерим")
        listed = box.orders(state="NEW", days=1, **{"filter[orders][code]": made["code"]}).json()["data"]
        assert listed[0]["attributes"]["customer"]["cellPhone"] == "7011234567"
        assert listed[0]["attributes"]["customer"]["firstName"] == "Айгерим"
        box.control(f"kaspi/orders/{made['code']}/status", status="COMPLETED")
        archived = box.kaspi(f"/orders/{made['id']}").json()["data"]["attributes"]
        assert archived["state"] == "ARCHIVE"
        assert archived["customer"]["cellPhone"] == "70*****567"

    def test_an_order_moves_one_step_per_advance(self, box, shop):
        made = box.control("kaspi/orders", expect=201, token="shop-token", phone="+7 777 123 45 67",
                           delivery_mode="DELIVERY_PICKUP")
        assert (made["status"], made["state"], made["phone"]) == ("APPROVED_BY_BANK", "NEW", "7771234567")
        seen = []
        for _ in range(3):
            box.control("kaspi/advance", token="shop-token")
            attributes = box.kaspi(f"/orders/{made['id']}").json()["data"]["attributes"]
            seen.append((attributes["status"], attributes["state"]))
        assert seen[0] in (("ACCEPTED_BY_MERCHANT", "PICKUP"), ("CANCELLED", "ARCHIVE"))
        assert seen[1] in (("COMPLETED", "ARCHIVE"), ("CANCELLED", "ARCHIVE"))
        assert seen[2] == seen[1]  # finished orders stay put

    def test_kaspi_delivery_orders_sit_in_their_own_tab(self, box, shop):
        made = box.control("kaspi/orders", expect=201, token="shop-token", status="ACCEPTED_BY_MERCHANT",
                           delivery_mode="DELIVERY_REGIONAL_TODOOR")
        attributes = box.kaspi(f"/orders/{made['id']}").json()["data"]["attributes"]
        assert attributes["state"] == "KASPI_DELIVERY" and attributes["isKaspiDelivery"]
        assert attributes["kaspiDelivery"]["waybill"]

    def test_it_creates_an_order_with_the_items_given(self, box, shop):
        made = box.control("kaspi/orders", expect=201, token="shop-token", items=[
            {"product_code": "109713498", "quantity": 2},
            {"name": "Чехол <script>", "price": 2500}])
        assert [(i["name"], i["quantity"]) for i in made["items"]] == [
            ("JBL Tune 520BT черный", 2), ("Чехол <script>", 1)]
        assert made["total_price"] == 2 * 19990 + 2500

    def test_the_same_seed_builds_the_same_shop(self, box):
        def world():
            box.control("reset")
            box.control("kaspi/shops", expect=201, token="t", orders=50, seed=7)
            shop = box.server.state.shops["t"]
            return [(o.code, o.status, o.customer["phone"]) for o in shop.orders]
        assert world() == world()

    def test_generated_orders_mix_statuses_by_age(self, box, shop):
        statuses = {o.status for o in box.server.state.shops["shop-token"].orders}
        assert {"APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT", "COMPLETED", "CANCELLED", "RETURNED"} <= statuses


class TestFaults:
    def test_it_answers_queued_faults_then_resumes(self, box, shop):
        box.control("kaspi/faults", responses=[429, 500, 503], retry_after=2)
        first = box.orders()
        assert first.status_code == 429 and first.headers["Retry-After"] == "2"
        assert [box.orders().status_code for _ in range(3)] == [500, 503, 200]
        stats = box.look("kaspi/stats")
        assert stats["requests"] == 4
        assert stats["by_status"] == {"429": 1, "500": 1, "503": 1, "200": 1}

    def test_it_breaks_the_next_replies_when_asked(self, box, shop):
        box.control("kaspi/faults", malformed=3)
        broken = [box.orders(state="ARCHIVE") for _ in range(3)]
        assert all(r.status_code == 200 for r in broken)

        def well_formed(response):
            try:
                body = response.json()
            except ValueError:
                return False
            return "data" in body and all("attributes" in o for o in body["data"])
        assert not any(well_formed(r) for r in broken)
        assert well_formed(box.orders(state="ARCHIVE"))


def test_it_pages_10000_orders_of_one_shop_quickly(box):
    box.control("kaspi/shops", expect=201, token="big", orders=10_000)
    started, total, page, pages = time.monotonic(), 0, 0, 1
    while page < pages:
        body = box.orders(token="big", state="ARCHIVE", page=page,
                          **{"include[orders]": "entries"}).json()
        pages, total, page = body["meta"]["pageCount"], total + len(body["data"]), page + 1
    assert total == body["meta"]["totalCount"] > 3000
    assert time.monotonic() - started < 15


class TestOddReplies:
    """What the sync must live through, served on request (see tests/kaspi/test_odd_replies.py)."""

    def order(self, box):
        box.control("kaspi/shops", expect=201, token="shop-token", orders=0)
        items = [{"product_code": "106363023", "quantity": 1}, {"product_code": "100812766", "quantity": 1}]
        return box.control("kaspi/orders", expect=201, token="shop-token", items=items)

    def test_attributes_can_be_overridden_and_entries_left_out_of_included(self, box):
        order = self.order(box)
        box.control(f"kaspi/orders/{order['code']}/quirks", attributes={"creationDate": None, "code": "9" * 60},
                    missing_included=1)

        body = box.orders(**{"include[orders]": "entries"}).json()

        [resource] = body["data"]
        assert (resource["attributes"]["creationDate"], resource["attributes"]["code"]) == (None, "9" * 60)
        linked = [link["id"] for link in resource["relationships"]["entries"]["data"]]
        assert len(linked) == 2 and [item["id"] for item in body["included"]] == linked[1:]
        assert box.orders(**{"filter[orders][code]": order["code"]}).json()["meta"]["totalCount"] == 1

    def test_a_product_reply_can_be_null_and_quirks_cleared(self, box):
        order = self.order(box)
        entry = order["items"][0]["entry_id"]
        box.control(f"kaspi/orders/{order['code']}/quirks", product_null=True)
        assert box.kaspi(f"/orderentries/{entry}/product").json() == {"data": None}

        box.control(f"kaspi/orders/{order['code']}/quirks")
        assert box.kaspi(f"/orderentries/{entry}/product").json()["data"]["attributes"]["code"] == "106363023"

    def test_bad_quirks_are_refused(self, box):
        order = self.order(box)
        box.control(f"kaspi/orders/{order['code']}/quirks", expect=400, attributes=["code"])
        box.control("kaspi/orders/000/quirks", expect=404)

    @pytest.mark.parametrize("how, content_type, token_named", [
        ("token", JSONAPI, True), ("json", JSONAPI, False), ("html", "text/html", False)])
    def test_a_queued_403_answers_as_asked(self, box, shop, how, content_type, token_named):
        box.control("kaspi/faults", responses=[403], forbidden_as=how)
        response = box.orders()
        assert response.status_code == 403 and response.headers["Content-Type"].startswith(content_type)
        assert ("X-Auth-Token" in response.text) is token_named
        assert box.orders().status_code == 200  # then normal service

    def test_an_arrived_pre_order_moves_on_to_accepted(self, box, shop):
        order = box.control("kaspi/orders", expect=201, token="shop-token", status="ARRIVED")
        box.control("kaspi/advance", token="shop-token")
        assert box.look(f"kaspi/orders/{order['code']}")["status"] == "ACCEPTED_BY_MERCHANT"


def test_latencies_are_set_in_milliseconds_and_checked(box):
    assert box.control("latency", waha_ms=100, llm_ms=800) == {"waha_ms": 100, "llm_ms": 800}
    box.control("latency", expect=400, waha_ms=-1)
    box.control("latency", waha_ms=0, llm_ms=0)
