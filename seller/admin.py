"""The seller's part of the admin: its own models, and what it adds to the shop, order and
outbox pages that `kaspi_sync` and `messaging` own (fallback templates checked, previews)."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.db import transaction
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from config.localtime import zone_label
from kaspi_sync.admin import OrderAdmin, ShopAdmin, ShopForm
from kaspi_sync.models import Order, Shop
from messaging.admin import OutboundMessageAdmin
from messaging.models import OutboundMessage, Trigger

from . import golive, pipeline, preview, writer
from .ops import story
from .fallback import TEMPLATE_HELP, template_errors
from .conversations import admin as conversations_admin  # noqa: F401  (the inbox, the knowledge base)
from .models import MetricsPeriod, Variant


@admin.register(MetricsPeriod)
class MetricsPeriodAdmin(admin.ModelAdmin):
    list_display = ["since"]


def show_previews(modeladmin, request, previews, title):
    context = {**modeladmin.admin_site.each_context(request), "title": title, "previews": previews,
               "opts": modeladmin.model._meta}
    return TemplateResponse(request, "seller/preview.html", context)


def too_many(modeladmin, request, queryset) -> bool:
    if queryset.count() > preview.MAX_PREVIEWS:
        modeladmin.message_user(request, f"Select at most {preview.MAX_PREVIEWS} rows to preview.", messages.WARNING)
        return True
    return False


@admin.action(description="Preview the messages (nothing is sent)")
def preview_order_messages(modeladmin, request, queryset):
    if too_many(modeladmin, request, queryset):
        return None
    previews = [item for order in queryset.select_related("shop") for item in preview.preview_order(order)]
    return show_previews(modeladmin, request, previews, "Preview: what each order's messages would say")


@admin.action(description="Preview the message (nothing is sent)")
def preview_outbox_messages(modeladmin, request, queryset):
    if too_many(modeladmin, request, queryset):
        return None
    previews = [preview.preview_message(message) for message in queryset.select_related("order", "shop")]
    return show_previews(modeladmin, request, previews, "Preview: what these messages would say")


class SellerShopForm(ShopForm):
    """The shop form, with each trigger's fallback template checked before it is saved."""

    class Meta(ShopForm.Meta):
        help_texts = {f"fallback_{trigger.lower()}": TEMPLATE_HELP for trigger in Trigger.values}

    def clean(self):
        cleaned = super().clean()
        going_live = cleaned.get("mode") == Shop.Mode.LIVE and (
            self.instance.pk is None or Shop.objects.filter(pk=self.instance.pk).exclude(mode=Shop.Mode.LIVE).exists())
        if going_live and (still := golive.missing(self.instance) if self.instance.pk else ["every step"]):
            self.add_error("mode", forms.ValidationError(
                "A shop goes live once its go-live checklist is done; still missing: " + "; ".join(still)))
        for trigger in Trigger.values:
            field = f"fallback_{trigger.lower()}"
            template = (cleaned.get(field) or "").strip()
            if template and (errors := template_errors(template, trigger)):
                self.add_error(field, forms.ValidationError(errors))
            elif field in cleaned:
                cleaned[field] = template
        return cleaned


# The shop, order and outbox admins belong to `kaspi_sync` and `messaging`; the seller adds its
# template checks and preview actions to them here, so dependencies point one way.
for model in (Shop, Order, OutboundMessage):
    admin.site.unregister(model)


@admin.register(Shop)
class SellerShopAdmin(ShopAdmin):
    form = SellerShopForm
    list_display = [*ShopAdmin.list_display, "go_live"]

    @admin.display(description="go live")
    def go_live(self, shop):
        label = "checklist" if shop.mode != Shop.Mode.LIVE else "checklist (live)"
        return format_html('<a href="{}">{}</a>', reverse("admin:seller_shop_checklist", args=[shop.pk]), label)

    def get_urls(self):
        view = self.admin_site.admin_view(self.checklist)
        return [path("<int:shop_id>/checklist/", view, name="seller_shop_checklist"), *super().get_urls()]

    CHECKS = {"kaspi": golive.check_kaspi, "waha": golive.check_waha, "webhook": golive.check_webhook,
              "model": golive.check_model, "policy": golive.review_policy}

    def checklist(self, request, shop_id):
        """The way from dry mode to live: each step checked for real, then the switch."""
        shop = get_object_or_404(Shop, pk=shop_id)
        if request.method == "POST":
            if not self.has_change_permission(request, shop):
                messages.error(request, "You may not change this shop.")
            elif "go_live" in request.POST:
                still = golive.go_live(shop)
                if still:
                    messages.error(request, "Not live yet; still missing: " + "; ".join(still))
                else:
                    messages.success(request, f"{shop.name} is live: its next messages go to customers.")
            elif request.POST.get("step") == "test_message":
                step = golive.send_test_message(shop, request.POST.get("phone", ""), request.user.get_username())
                messages.success(request, step.detail) if step.ok else messages.error(request, step.detail)
            elif (check := self.CHECKS.get(request.POST.get("step"))):
                step = check(shop, request.user.get_username())
                messages.success(request, step.detail) if step.ok else messages.error(request, step.detail)
            return redirect(request.path)
        context = {**self.admin_site.each_context(request), "title": f"Go live: {shop.name}", "shop": shop,
                   "steps": golive.steps(shop), "policy": golive.policy_summary(shop), "missing": golive.missing(shop),
                   "zone": zone_label(shop.tz_name), "opts": self.model._meta}
        return TemplateResponse(request, "admin/seller/checklist.html", context)


@admin.register(Order)
class SellerOrderAdmin(OrderAdmin):
    """The order's page tells its story: items, Kaspi states, each message and its history."""

    actions = [*(OrderAdmin.actions or []), preview_order_messages]
    change_form_template = "admin/kaspi_sync/order/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra = {"story": story.order_story(order)} if order else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


@admin.action(description="Approve the selected messages in review: they are sent")
def approve_reviewed(modeladmin, request, queryset):
    approved = writer.approve(queryset.filter(status=OutboundMessage.Status.REVIEW).values_list("pk", flat=True),
                              request.user.get_username())
    transaction.on_commit(lambda: pipeline.start(approved, OutboundMessage.Status.GENERATED))
    modeladmin.message_user(request, f"{len(approved)} message(s) approved; they go out with the next send turns.")


@admin.action(description="Reject the selected messages in review: they are never sent")
def reject_reviewed(modeladmin, request, queryset):
    count = writer.reject(queryset.filter(status=OutboundMessage.Status.REVIEW).values_list("pk", flat=True),
                          request.user.get_username())
    modeladmin.message_user(request, f"{count} message(s) rejected.")


@admin.register(OutboundMessage)
class OutboundMessageWithPreviewAdmin(OutboundMessageAdmin):
    actions = [*(OutboundMessageAdmin.actions or []), preview_outbox_messages, approve_reviewed, reject_reviewed]
    list_display = [*OutboundMessageAdmin.list_display, "variant"]
    list_filter = [*OutboundMessageAdmin.list_filter, "variant"]


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = "__all__"
        help_texts = {"fallback_template": "Empty: the shop's template for the trigger. " + TEMPLATE_HELP}

    def clean(self):
        cleaned = super().clean()
        template = (cleaned.get("fallback_template") or "").strip()
        if template and cleaned.get("trigger") and (errors := template_errors(template, cleaned["trigger"])):
            self.add_error("fallback_template", forms.ValidationError(errors))
        return cleaned


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    """Variants of a trigger, split by weight; their figures, with intervals, are on the metrics."""

    form = VariantForm
    list_display = ["name", "shop", "trigger", "weight", "is_active", "suggest_product"]
    list_filter = ["shop", "trigger", "is_active"]
    list_select_related = ["shop"]
