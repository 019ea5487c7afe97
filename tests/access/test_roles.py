"""Each role in the admin and the API: what it may do, and a 403 that says why (changing
nothing) for what it may not."""

import pytest
from django.urls import reverse

from access import roles
from access.models import AuditEntry
from kaspi_sync.models import Shop
from messaging.models import OptOut, OutboundMessage
from seller.models import MetricsPeriod

from .conftest import admin_client, api_client

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    "metrics": ("get", "/ai-seller/metrics"),
    "reset": ("post", "/ai-seller/reset-metrics"),
    "trigger": ("post", "/ai-seller/trigger-delivered/555000111"),
    "status": ("get", "/ai-seller/status"),
    "sales": ("get", "/kaspi/get_sells_info/{a}"),
    "prometheus": ("get", "/metrics"),
}
# Who may call which endpoint (staff of the installation: they see every shop).
ALLOWED = {
    roles.OWNER: set(ENDPOINTS),
    roles.OPERATOR: {"metrics", "trigger", "status", "sales", "prometheus"},
    roles.VIEWER: {"metrics", "status", "sales", "prometheus"},
    roles.METRICS: {"metrics", "prometheus"},
    None: set(),
}


def call(api, endpoint, shops):
    method, path = ENDPOINTS[endpoint]
    return getattr(api, method)(path.format(a=shops[0].pk))


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_gets_the_api_endpoints_it_may_use_and_a_clear_403_for_the_others(role, shops, make_user, sandbox):
    api = api_client(make_user(role, every_shop=True))
    for endpoint in ENDPOINTS:
        periods, rows = MetricsPeriod.objects.count(), OutboundMessage.objects.count()
        response = call(api, endpoint, shops)
        if endpoint in ALLOWED[role]:
            assert response.status_code in (200, 201), (role, endpoint, response.content[:200])
        else:
            assert response.status_code == 403, (role, endpoint, response.status_code)
            assert "permission" in response.json()["detail"], response.json()
            assert (MetricsPeriod.objects.count(), OutboundMessage.objects.count()) == (periods, rows)


def test_a_denial_names_the_permission_it_needs(shops, make_user):
    api = api_client(make_user(roles.VIEWER, every_shop=True))
    answer = api.post("/ai-seller/trigger-delivered/555000111")
    assert answer.json()["detail"] == ("You do not have the permission 'access.trigger_delivered' (Fires ORDER_DELIVERED "
                                       "by hand (POST /ai-seller/trigger-delivered)); ask an owner of this installation.")


def test_a_staff_user_with_no_permission_cannot_download_the_opt_outs(shops, make_user):
    client = admin_client(make_user(None, every_shop=True))
    answer = client.get(reverse("admin:messaging_optout_export"))
    assert answer.status_code == 403
    assert "+7701" not in answer.content.decode()
    assert "access.export_optouts" in answer.content.decode()


def test_a_viewer_may_not_retry_cancel_sync_or_resume_and_nothing_changes(shops, make_user):
    a, _ = shops
    client = admin_client(make_user(roles.VIEWER, every_shop=True))
    failed = OutboundMessage.objects.filter(status="failed")
    for url, action, ids in [
        (reverse("admin:messaging_outboundmessage_changelist"), "retry_messages", failed.values_list("pk", flat=True)),
        (reverse("admin:messaging_outboundmessage_changelist"), "cancel_messages",
         OutboundMessage.objects.values_list("pk", flat=True)),
        (reverse("admin:kaspi_sync_shop_changelist"), "sync_now", [a.pk]),
        (reverse("admin:messaging_sessionpause_changelist"), "resume", [1]),
        (reverse("admin:messaging_optout_changelist"), "delete_selected", OptOut.objects.values_list("pk", flat=True)),
    ]:
        page = client.get(url).content.decode()
        assert f'value="{action}"' not in page, f"{action} offered to a viewer"
        answer = client.post(url, {"action": action, "_selected_action": list(ids)})
        assert answer.status_code == 403, (action, answer.status_code)
        assert "permission" in answer.content.decode()
    assert OutboundMessage.objects.filter(status="failed").count() == 2
    assert OutboundMessage.objects.filter(status="cancelled").count() == 0
    assert OptOut.objects.count() == 2
    assert not AuditEntry.objects.exclude(actor="someone").exists()


def test_a_viewer_sees_phones_masked_in_admin_an_operator_in_full(shops, make_user):
    a, _ = shops
    row = OutboundMessage.objects.filter(shop=a).first()
    viewer = admin_client(make_user(roles.VIEWER, shops=[a]))
    operator = admin_client(make_user(roles.OPERATOR, shops=[a], name="op"))
    pages = [reverse("admin:messaging_outboundmessage_change", args=[row.pk]),
             reverse("admin:messaging_outboundmessage_changelist"),
             reverse("admin:kaspi_sync_order_change", args=[row.order_id]),
             reverse("admin:messaging_optout_changelist"),
             reverse("admin:messaging_optout_change", args=[OptOut.objects.get(shop=a).pk]),
             reverse("admin:messaging_inboundmessage_changelist")]
    for page in pages:
        shown = viewer.get(page)
        assert shown.status_code == 200, page
        assert "1112233" not in shown.content.decode(), page
        if page != pages[1]:  # the outbox list has no phone column
            assert "***33" in shown.content.decode(), page
    assert "+77011112233" in operator.get(pages[0]).content.decode()


def test_an_operator_retries_and_it_is_audited(shops, make_user):
    a, b = shops
    client = admin_client(make_user(roles.OPERATOR, every_shop=True, name="night-op"))
    failed = list(OutboundMessage.objects.filter(status="failed").values_list("pk", flat=True))

    client.post(reverse("admin:messaging_outboundmessage_changelist"),
                {"action": "retry_messages", "_selected_action": failed})

    assert OutboundMessage.objects.filter(pk__in=failed, status="pending").count() == 2
    entries = AuditEntry.objects.filter(action="outbox.retry")
    expected = {("night-op", row.shop_id, f"outbox #{row.pk}") for row in OutboundMessage.objects.filter(pk__in=failed)}
    assert {(e.actor, e.shop_id, e.target) for e in entries} == expected
    assert {e.shop_id for e in entries} == {a.pk, b.pk}


def test_an_operator_changes_templates_but_never_the_token(shops, make_user):
    a, _ = shops
    client = admin_client(make_user(roles.OPERATOR, shops=[a]))
    form = client.get(reverse("admin:kaspi_sync_shop_change", args=[a.pk])).content.decode()
    assert "new_kaspi_token" not in form
    data = {"name": a.name, "is_active": "on", "language": "ru", "voice": "Тепло и коротко", "mode": "live",
            "post_purchase_enabled": "on", "order_delivered_enabled": "on", "new_kaspi_token": "stolen-token-123456"}
    answer = client.post(reverse("admin:kaspi_sync_shop_change", args=[a.pk]), data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    a.refresh_from_db()
    assert a.voice == "Тепло и коротко" and a.kaspi_token == "kaspi-token-555000111"
    assert AuditEntry.objects.filter(action="shop.change", shop=a, detail__contains="voice").exists()
    assert not AuditEntry.objects.filter(action="shop.token").exists()


def test_an_owner_sets_a_token_and_the_trail_says_so_without_the_token(shops, make_user):
    a, _ = shops
    client = admin_client(make_user(roles.OWNER, every_shop=True))
    data = {"name": a.name, "is_active": "on", "language": "ru", "voice": "", "mode": "live",
            "post_purchase_enabled": "on", "order_delivered_enabled": "on", "new_kaspi_token": "fresh-token-abcdef9876"}
    assert client.post(reverse("admin:kaspi_sync_shop_change", args=[a.pk]), data).status_code == 302
    assert Shop.objects.get(pk=a.pk).kaspi_token == "fresh-token-abcdef9876"
    entry = AuditEntry.objects.get(action="shop.token")
    assert "fresh-token" not in entry.detail and entry.detail.endswith("…9876")


def test_the_metrics_role_sees_no_admin_page_but_the_figures(shops, make_user):
    client = admin_client(make_user(roles.METRICS, every_shop=True))
    assert client.get(reverse("admin:messaging_outboundmessage_changelist")).status_code == 403
    assert client.get("/admin/dashboard/").status_code == 200
    assert client.post("/admin/dashboard/", {"reset": "1"}).status_code == 403
    assert not MetricsPeriod.objects.exists()
