"""The audit trail: who did what, filterable in admin, never editable; and grant_shop."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from access import roles
from access.models import AuditEntry, ShopAccess
from messaging import optouts
from messaging.models import OptOut

from .conftest import admin_client, api_client

pytestmark = pytest.mark.django_db


def test_opt_out_changes_are_audited_with_who_and_never_the_full_phone(shops, make_user):
    a, _ = shops
    client = admin_client(make_user(roles.OPERATOR, shops=[a], name="aliya"))
    client.post(reverse("admin:messaging_optout_add"), {"phone": "8 705 123 45 67", "shop": a.pk, "keyword": ""})
    client.post(reverse("admin:messaging_optout_delete", args=[OptOut.objects.get(phone="+77051234567").pk]),
                {"post": "yes"})
    upload = SimpleUploadedFile("list.csv", b"7021234567\n7071234567\n")
    client.post(reverse("admin:messaging_optout_import"), {"file": upload})
    client.get(reverse("admin:messaging_optout_export"))
    optouts.record_opt_out("+77061234567", "стоп", shop_id=a.pk)

    trail = list(AuditEntry.objects.exclude(actor="someone").order_by("at", "id")
                 .values_list("actor", "action", "shop_id", "target", "detail"))
    assert trail == [
        ("aliya", "optout.add", a.pk, "***67", "added in admin"),
        ("aliya", "optout.remove", a.pk, "***67", ""),
        ("aliya", "optout.import", a.pk, "list.csv", "2 added, 0 existing, 0 refused"),
        ("aliya", "optout.export", a.pk, "opt-outs CSV", "3 phone(s)"),
        ("customer reply", "optout.add", a.pk, "***67", "keyword 'стоп'"),
    ]


def test_metric_resets_and_manual_triggers_are_audited(shops, make_user, sandbox):
    api = api_client(make_user(roles.OWNER, every_shop=True, name="boss"))
    api.post("/ai-seller/reset-metrics")
    api.post("/ai-seller/trigger-delivered/555000111")  # exists already: nothing new, nothing audited
    assert list(AuditEntry.objects.exclude(actor="someone").values_list("actor", "action")) == [("boss", "metrics.reset")]


def test_the_trail_is_filterable_and_nobody_edits_or_deletes_it(shops, make_user):
    a, b = shops
    client = admin_client(make_user(roles.OWNER, every_shop=True))
    entry = AuditEntry.objects.get(shop=b)
    page = client.get(reverse("admin:access_auditentry_changelist"), {"shop__id__exact": a.pk}).content.decode()
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "Alpha Market" in rows and "Bravo Bazaar" not in rows
    assert client.get(reverse("admin:access_auditentry_changelist"), {"action": "shop.change"}).status_code == 200
    assert client.get(reverse("admin:access_auditentry_add")).status_code == 403
    assert client.post(reverse("admin:access_auditentry_change", args=[entry.pk]), {"actor": "x"}).status_code == 403
    assert client.post(reverse("admin:access_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.actor == "someone"


def test_grant_shop_ties_a_user_to_a_shop_in_a_role(shops, django_user_model, capsys):
    a, b = shops
    django_user_model.objects.create_user("dana", password="pw")

    call_command("grant_shop", "--user", "dana", "--shop", str(a.pk), "--role", "viewer")
    call_command("grant_shop", "--user", "dana", "--shop", str(b.pk), "--role", "operator")

    dana = django_user_model.objects.get(username="dana")
    assert dana.is_staff and sorted(ShopAccess.objects.filter(user=dana).values_list("shop_id", flat=True)) == [a.pk, b.pk]
    assert list(dana.groups.values_list("name", flat=True)) == [roles.OPERATOR]
    assert f"dana is operator of shop {b.pk}; sees shops: {a.pk}, {b.pk}" in capsys.readouterr().out
    assert AuditEntry.objects.filter(action="shop.access", target="dana").count() == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--user", "nobody", "--shop", "1", "--role", "viewer"], "no user 'nobody'"),
    (["--user", "dana", "--shop", "999999", "--role", "viewer"], "no shop 999999"),
])
def test_grant_shop_refuses_what_does_not_exist(args, message, django_user_model, db):
    django_user_model.objects.create_user("dana", password="pw")
    with pytest.raises(CommandError, match=message):
        call_command("grant_shop", *args)


def test_shop_access_given_and_taken_on_the_user_page_is_audited(shops, make_user, django_user_model):
    a, _ = shops
    client = admin_client(make_user(roles.OWNER, every_shop=True, name="boss"))
    dana = django_user_model.objects.create_user("dana", password="pw")
    page = reverse("admin:auth_user_change", args=[dana.pk])
    form = {"username": "dana", "is_active": "on", "date_joined_0": "2026-11-29", "date_joined_1": "10:00:00",
            "initial-date_joined_0": "2026-11-29", "initial-date_joined_1": "10:00:00",
            "shop_access-TOTAL_FORMS": "1", "shop_access-INITIAL_FORMS": "0", "shop_access-MIN_NUM_FORMS": "0",
            "shop_access-MAX_NUM_FORMS": "1000", "shop_access-0-shop": a.pk, "shop_access-0-user": dana.pk}

    answer = client.post(page, form)

    assert answer.status_code == 302, answer.content.decode()[:3000]
    assert ShopAccess.objects.filter(user=dana, shop=a).exists()
    assert list(AuditEntry.objects.filter(action="shop.access").values_list("actor", "target", "detail")) == [
        ("boss", "dana", "granted on the user's page")]
