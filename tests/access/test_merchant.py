"""A merchant of shop A walks every admin page and API endpoint and finds nothing of shop B;
B's objects are 404s. Staff of the installation still see both."""

import pytest
from django.contrib import admin
from django.urls import reverse

from access import roles
from kaspi_sync.models import Order, Shop
from messaging.models import OptOut, OutboundMessage

from .conftest import B_MARKERS, admin_client, api_client

pytestmark = pytest.mark.django_db


def assert_nothing_of_b(response, where, searched: str = ""):
    """(A searched term is echoed in the search box: it does not count.)"""
    text = response.content.decode()
    found = [marker for marker in B_MARKERS if marker in text and marker not in searched]
    assert not found, f"{where} shows {found}"


def admin_pages(client):
    """Every model page of the admin: the list, and the add form where there is one."""
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        for name in ("changelist", "add"):
            yield f"admin:{opts.app_label}_{opts.model_name}_{name}"


@pytest.mark.parametrize("role", [roles.OPERATOR, roles.VIEWER])
def test_a_merchant_of_shop_a_finds_nothing_of_shop_b_in_any_admin_page(shops, make_user, role):
    a, b = shops
    client = admin_client(make_user(role, shops=[a]))
    seen_a = False
    for name in admin_pages(client):
        response = client.get(reverse(name))
        assert response.status_code in (200, 403), (name, response.status_code)
        assert_nothing_of_b(response, name)
        seen_a |= "Alpha Market" in response.content.decode()
        if name.endswith("changelist") and response.status_code == 200:
            for query in ({"q": "777000111"}, {"q": "+77019998877"}, {"shop__id__exact": b.pk}, {"o": "-1"}):
                assert_nothing_of_b(client.get(reverse(name), query), f"{name} {query}", str(query.get("q", "")))
    assert seen_a, "the merchant's own shop shows somewhere"
    for page in ("/admin/", "/admin/dashboard/", f"/admin/dashboard/?shop={b.pk}"):
        response = client.get(page)
        assert response.status_code == 200
        assert_nothing_of_b(response, page)


def test_every_object_of_shop_b_is_a_404_and_every_object_of_shop_a_opens(shops, make_user):
    a, b = shops
    client = admin_client(make_user(roles.OPERATOR, shops=[a]))
    objects = [(Shop, "pk"), (Order, "shop"), (OutboundMessage, "shop")]
    from access.models import AuditEntry
    from kaspi_sync.models import Product
    from messaging.models import InboundMessage, OptOut, SessionPause
    from seller.models import Handoff, KnowledgeEntry
    objects += [(Product, "shop"), (OptOut, "shop"), (InboundMessage, "in_reply_to__shop"), (AuditEntry, "shop"),
                (Handoff, "shop"), (KnowledgeEntry, "shop")]
    for model, path in objects:
        opts = model._meta
        for shop, expected in ((a, 200), (b, 404)):
            obj = model.objects.filter(**{path: shop.pk}).first()
            for view in ("change", "history"):
                response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[obj.pk]))
                assert response.status_code == expected, (opts.label, view, shop.name, response.status_code)
                assert_nothing_of_b(response, f"{opts.label} {view}")
    mine, theirs = (SessionPause.objects.get(session=f"{s.waha_session}") for s in (a, b))
    assert client.get(reverse("admin:messaging_sessionpause_change", args=[mine.pk])).status_code == 200
    assert client.get(reverse("admin:messaging_sessionpause_change", args=[theirs.pk])).status_code == 404


def test_an_action_posted_with_shop_bs_rows_changes_nothing_of_shop_b(shops, make_user):
    a, b = shops
    client = admin_client(make_user(roles.OPERATOR, shops=[a]))
    rows = OutboundMessage.objects.filter(status="failed")

    client.post(reverse("admin:messaging_outboundmessage_changelist"),
                {"action": "retry_messages", "_selected_action": [row.pk for row in rows]})

    assert OutboundMessage.objects.get(shop=a, trigger="ORDER_DELIVERED").status == "pending"
    assert OutboundMessage.objects.get(shop=b, trigger="ORDER_DELIVERED").status == "failed"


def test_the_merchant_s_api_answers_cover_only_shop_a(shops, make_user):
    a, b = shops
    api = api_client(make_user(roles.OPERATOR, shops=[a]))

    metrics = api.get("/ai-seller/metrics")
    assert metrics.status_code == 200 and [row["shop_id"] for row in metrics.json()["by_shop"]] == [a.pk]
    assert api.get(f"/ai-seller/metrics?shop={b.pk}").status_code == 404
    assert api.get(f"/ai-seller/metrics?shop={a.pk}").status_code == 200
    assert api.get(f"/kaspi/get_sells_info/{b.pk}").status_code == 404
    sells = api.get(f"/kaspi/get_sells_info/{a.pk}")
    assert sells.status_code == 200 and [o["code"] for o in sells.json()["orders"]] == ["555000111"]
    status = api.get("/ai-seller/status")
    assert [shop["id"] for shop in status.json()["shops"]] == [a.pk]
    assert {s["session"] for s in status.json()["waha"]} == {"alpha-session"}
    assert sum(row["rows"] for row in status.json()["outbox"]) == 1  # A's pending row only
    handoffs = api.get("/ai-seller/handoffs")
    assert [row["shop_id"] for row in handoffs.json()] == [a.pk] and api.get(f"/ai-seller/handoffs?shop={b.pk}").status_code == 404
    assert api.post("/ai-seller/trigger-delivered/777000111").status_code == 404
    assert api.post("/ai-seller/reset-metrics").status_code == 403
    assert api.get("/metrics").status_code == 403  # the scrape covers the whole installation
    for response in (metrics, sells, status, handoffs):
        assert_nothing_of_b(response, response.wsgi_request.path)


def test_staff_of_the_installation_still_see_every_shop(shops, make_user):
    a, b = shops
    client = admin_client(make_user(roles.VIEWER, every_shop=True))
    page = client.get(reverse("admin:kaspi_sync_order_changelist")).content.decode()
    assert "555000111" in page and "777000111" in page
    api = api_client(make_user(roles.VIEWER, every_shop=True, name="viewer-2"))
    assert api.get(f"/kaspi/get_sells_info/{b.pk}").status_code == 200


def test_a_staff_user_tied_to_no_shop_and_not_installation_staff_sees_no_shop(shops, make_user):
    client = admin_client(make_user(roles.VIEWER))
    page = client.get(reverse("admin:kaspi_sync_order_changelist")).content.decode()
    assert "555000111" not in page and "777000111" not in page


def test_a_merchant_adds_an_opt_out_only_for_their_own_shop(shops, make_user):
    a, b = shops
    client = admin_client(make_user(roles.OPERATOR, shops=[a]))
    url = reverse("admin:messaging_optout_add")

    for shop in ("", b.pk):
        answer = client.post(url, {"phone": "+77051112233", "shop": shop, "keyword": ""})
        assert answer.status_code == 200 and not OptOut.objects.filter(phone="+77051112233").exists()
    assert client.post(url, {"phone": "+77051112233", "shop": a.pk, "keyword": ""}).status_code == 302
    assert OptOut.objects.get(phone="+77051112233").shop == a


def test_the_customer_and_go_live_pages_show_a_merchant_only_their_shop(shops, make_user):
    a, b = shops
    client = admin_client(make_user(roles.OPERATOR, shops=[a]))
    theirs = client.get(reverse("customer", args=["+77019998877"]))
    assert theirs.status_code == 200 and "No orders from this phone." in theirs.content.decode()
    assert_nothing_of_b(theirs, "customer page", searched="+77019998877")
    assert "555000111" in client.get(reverse("customer", args=["+77011112233"])).content.decode()
    assert client.get(reverse("admin:seller_shop_checklist", args=[b.pk])).status_code == 404
    assert client.get(reverse("admin:seller_shop_checklist", args=[a.pk])).status_code == 200
    viewer = admin_client(make_user(roles.VIEWER, shops=[a], name="viewer-a"))
    assert viewer.get(reverse("customer", args=["+77011112233"])).status_code == 403
    assert viewer.post(reverse("admin:seller_shop_checklist", args=[a.pk]), {"go_live": "1"}).status_code == 403
    order_page = viewer.get(reverse("admin:kaspi_sync_order_change", args=[Order.objects.get(shop=a).pk]))
    assert "1112233" not in order_page.content.decode() and "***33" in order_page.content.decode()


def test_connect_whatsapp_is_for_a_merchant_s_own_sessions_and_needs_its_permission(shops, make_user, sandbox):
    a, b = shops
    operator = admin_client(make_user(roles.OPERATOR, shops=[a]))
    assert operator.get("/admin/whatsapp/bravo-session/").status_code == 404
    assert operator.get("/admin/whatsapp/bravo-session/state.json").status_code == 404
    assert operator.get("/admin/whatsapp/")["Location"] == "/admin/whatsapp/alpha-session/"
    assert operator.get("/admin/whatsapp/alpha-session/").status_code == 200
    viewer = admin_client(make_user(roles.VIEWER, shops=[a], name="viewer-a"))
    answer = viewer.post("/admin/whatsapp/alpha-session/", {"action": "logout"})
    assert answer.status_code == 403 and "access.connect_session" in answer.content.decode()
    assert viewer.get("/admin/whatsapp/alpha-session/state.json").status_code == 403
