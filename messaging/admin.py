from django.contrib import admin

from .models import InboundMessage, MessageEvent, OptOut, OutboundMessage


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    extra = 0
    readonly_fields = ["status", "note", "at"]
    can_delete = False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "shop", "order", "trigger", "status", "reason", "source", "not_before", "sent_at", "created_at"]
    list_filter = ["status", "trigger", "source", "reason", "shop"]
    search_fields = ["order__code", "phone", "waha_message_id", "text"]
    list_select_related = ["shop", "order"]
    date_hierarchy = "created_at"
    inlines = [MessageEventInline]
    readonly_fields = [field.name for field in OutboundMessage._meta.fields]


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ["phone", "source", "keyword", "shop", "created_at"]
    list_filter = ["source", "shop"]
    search_fields = ["phone", "keyword"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "phone", "body", "is_opt_out", "in_reply_to"]
    list_filter = ["is_opt_out", "session"]
    search_fields = ["phone", "body"]
    readonly_fields = [field.name for field in InboundMessage._meta.fields]
