"""The seller's part of the admin: its own models, and what it adds to the shop, order and
outbox pages that `kaspi_sync` and `messaging` own (fallback templates checked, previews)."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from kaspi_sync.admin import OrderAdmin, ShopAdmin, ShopForm
from kaspi_sync.models import Order, Shop
from messaging.admin import OutboundMessageAdmin
from messaging.models import OutboundMessage, Trigger

from . import preview
from .fallback import TEMPLATE_HELP, template_errors
from .models import MetricsPeriod


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


@admin.register(Order)
class SellerOrderAdmin(OrderAdmin):
    actions = [*(OrderAdmin.actions or []), preview_order_messages]


@admin.register(OutboundMessage)
class OutboundMessageWithPreviewAdmin(OutboundMessageAdmin):
    actions = [*(OutboundMessageAdmin.actions or []), preview_outbox_messages]
