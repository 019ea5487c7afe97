"""The metrics dashboard inside Django admin: the figures of `metrics.summary` as charts."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from config.localtime import when, zone_label
from kaspi_sync.models import Shop

from . import metrics

PERIODS = [("", "since the last reset"), ("1", "last 24 hours"), ("7", "last 7 days"), ("14", "last 14 days"),
           ("30", "last 30 days"), ("90", "last 90 days")]


class DashboardFilter(forms.Form):
    shop = forms.ModelChoiceField(Shop.objects.order_by("name"), required=False, empty_label="all shops")
    days = forms.TypedChoiceField(choices=PERIODS, coerce=int, empty_value=None, required=False, label="period")


def lift_points(lift: dict) -> dict:
    """The lift in percentage points, as merchants read it."""
    if lift["absolute"] is None:
        return {}
    low, high = lift["ci95"]
    return {"absolute": lift["absolute"] * 100, "low": low * 100, "high": high * 100}


def dashboard(request):
    if request.method == "POST" and "reset" in request.POST:
        since = metrics.reset()
        messages.success(request, f"A new counting period starts at {when(since)}; nothing was deleted.")
        return redirect(request.path)
    form = DashboardFilter(request.GET or None)
    chosen = form.cleaned_data if form.is_valid() else {}
    shop = chosen.get("shop")
    data = metrics.summary(metrics.window(shop_id=shop.pk if shop else None, days=chosen.get("days")))
    context = {
        **admin.site.each_context(request),
        "title": "AI seller dashboard",
        "zone": zone_label(settings.SELLER_TIMEZONE),
        "form": form,
        "data": data,
        "blocked_reasons": sorted(data["blocked"].items(), key=lambda item: -item[1]),
        "lift_points": lift_points(data["lift"]),
        "lift_rows": [{"name": "all", **data}]
        + [{"name": row["trigger"], **row} for row in data["by_trigger"]]
        + [{"name": f'{row["trigger"]} / {row["variant"]}', **row} for row in data["by_variant"]],
    }
    return TemplateResponse(request, "admin/seller/dashboard.html", context)
