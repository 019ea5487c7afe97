from django.contrib import admin, messages
from django.template.response import TemplateResponse

from messaging.admin import OutboundMessageAdmin
from messaging.models import OutboundMessage

from . import preview
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


# The outbox admin belongs to `messaging`; the seller adds its preview action to it here, so
# each app keeps its own code.
admin.site.unregister(OutboundMessage)


@admin.register(OutboundMessage)
class OutboundMessageWithPreviewAdmin(OutboundMessageAdmin):
    actions = [*(OutboundMessageAdmin.actions or []), preview_outbox_messages]
