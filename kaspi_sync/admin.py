import json

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from access import audit
from access.admin_scope import ScopedAdmin
from access.permissions import requires
from config.localtime import when
from config.readonly_admin import HistoryAdminMixin

from .client import KaspiError
from .models import Order, OrderEntry, Product, QuarantinedOrder, Shop
from .sync import SyncAlreadyRunning, retry_quarantined
from .tasks import sync_shop


class ShopForm(forms.ModelForm):
    # The token is write-only: shown masked, replaced only when a new one is typed.
    new_kaspi_token = forms.CharField(required=False, widget=forms.PasswordInput, label="Kaspi token",
                                      help_text="Leave empty to keep the current token.")

    class Meta:
        model = Shop
        exclude = ["kaspi_token"]

    def save(self, commit=True):
        if self.cleaned_data.get("new_kaspi_token"):
            self.instance.kaspi_token = self.cleaned_data["new_kaspi_token"].strip()
            # A new token gets a fresh chance: syncs skip shops whose token Kaspi rejected.
            self.instance.token_status, self.instance.last_sync_error = Shop.TokenStatus.OK, ""
            self.instance.sync_paused_until = None
        return super().save(commit)


@admin.register(Shop)
class ShopAdmin(ScopedAdmin):
    form = ShopForm
    shop_path = "pk"
    list_display = ["name", "mode", "is_active", "token_status", "masked_token", "last_synced_at", "sync_problem",
                    "sync_paused_until", "language", "connect_whatsapp"]
    list_filter = ["mode", "is_active", "token_status", "language"]
    search_fields = ["name"]
    actions = ["sync_now", "resume_syncs"]

    @admin.display(description="WhatsApp")
    def connect_whatsapp(self, shop):
        """The page that creates the shop's WAHA session and shows the QR code to scan."""
        url = reverse("whatsapp-connect", args=[shop.session_name])
        return format_html('<a href="{}">Connect WhatsApp (session {})</a>', url, shop.session_name)
    readonly_fields = ["masked_token", "token_status", "last_sync_error", "last_sync_error_at", "sync_failures",
                       "sync_paused_until", "last_synced_at", "sync_watermark", "created_at", "connect_whatsapp"]
    fieldsets = [
        (None, {"fields": ["name", "mode", "is_active", "new_kaspi_token", "masked_token", "token_status", "last_sync_error",
                           "last_sync_error_at", "sync_failures", "sync_paused_until", "last_synced_at",
                           "sync_watermark"]}),
        ("Voice and triggers", {"fields": ["language", "voice", "post_purchase_enabled", "order_delivered_enabled",
                                           "fallback_post_purchase", "fallback_order_delivered"]}),
        ("WhatsApp", {"fields": ["waha_session", "connect_whatsapp"]}),
        ("Policy (empty: the SELLER_* defaults)", {"fields": [
            "timezone", "max_messages", "cap_window_days", "max_daily_messages", "cooldown_hours", "max_defer_hours",
            "quiet_hours", "post_purchase_delay_hours", "delivered_delay_hours"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.has_perm("access.change_shop_token"):
            return fieldsets
        # Without the token permission the field is not on the form: a posted token is ignored.
        return [(title, {**options, "fields": [f for f in options["fields"] if f != "new_kaspi_token"]})
                for title, options in fieldsets]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.has_perm("access.change_shop_token"):
            form.base_fields.pop("new_kaspi_token", None)  # a declared field outlives `fields`: drop it here
        return form

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name != "new_kaspi_token"]
        if changed or not change:
            audit.record(request.user, audit.Action.SHOP_CHANGE, shop_id=obj.pk, target=str(obj),
                         detail=("added; " if not change else "") + ", ".join(changed))
        if "new_kaspi_token" in form.changed_data:
            audit.record(request.user, audit.Action.SHOP_TOKEN, shop_id=obj.pk, target=str(obj),
                         detail=f"now ending {obj.masked_token}")
    def has_delete_permission(self, request, obj=None):
        # Deleting a shop would delete its orders and message history: switch it off (mode) instead.
        return False

    def get_changeform_initial_data(self, request):
        # A new shop sends nothing until its go-live checklist is done.
        return {"mode": Shop.Mode.DRY, **super().get_changeform_initial_data(request)}

    @admin.display(description="last sync error")
    def sync_problem(self, shop):
        return shop.last_sync_error[:120]

    @admin.action(description="Sync the selected shops now")
    @requires("access.sync_shop")
    def sync_now(self, request, queryset):
        shops = list(queryset.filter(is_active=True).values_list("pk", flat=True))
        for shop_id in shops:
            sync_shop.delay(shop_id)
            audit.record(request.user, audit.Action.SHOP_SYNC, shop_id=shop_id, target=f"shop {shop_id}")
        self.message_user(request, f"Sync queued for {len(shops)} active shop(s).")

    @admin.action(description="Resume the syncs of the selected shops (end a 403 pause)")
    def resume_syncs(self, request, queryset):
        count = queryset.update(sync_paused_until=None)
        self.message_user(request, f"Syncs resumed for {count} shop(s).")


@admin.register(QuarantinedOrder)
class QuarantinedOrderAdmin(admin.ModelAdmin):
    """Orders a sync could not parse or save; the rest of the shop's orders went on without them."""

    list_display = ["__str__", "shop", "stage", "short_error", "attempts", "first_seen_at", "last_seen_at"]
    list_filter = ["stage", "shop"]
    search_fields = ["code", "kaspi_id", "error"]
    list_select_related = ["shop"]
    actions = ["try_again"]
    fields = ["shop", "kaspi_id", "code", "stage", "error", "attempts", "first_seen_at", "last_seen_at", "raw_reply"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    @admin.display(description="error")
    def short_error(self, row):
        return row.error[:150]

    @admin.display(description="Kaspi's reply")
    def raw_reply(self, row):
        return format_html("<pre>{}</pre>", json.dumps(row.raw, ensure_ascii=False, indent=2))

    @admin.action(description="Try again: read from Kaspi and save")
    def try_again(self, request, queryset):
        for shop in Shop.objects.filter(pk__in=queryset.values("shop")):
            rows = list(queryset.filter(shop=shop))
            try:
                saved, left = retry_quarantined(shop, rows)
            except (KaspiError, SyncAlreadyRunning) as exc:
                self.message_user(request, f"{shop}: not tried: {exc}", messages.ERROR)
                continue
            level = messages.SUCCESS if not left else messages.WARNING
            self.message_user(request, f"{shop}: {saved} order(s) saved, {left} still quarantined.", level)


class OrderEntryInline(HistoryAdminMixin, admin.TabularInline):
    model = OrderEntry
    extra = 0
    fields = ["name", "category_title", "quantity", "base_price", "total_price", "product"]
    readonly_fields = fields


class AttributedFilter(admin.SimpleListFilter):
    title = "credited to a message"
    parameter_name = "attributed"

    def lookups(self, request, model_admin):
        return [("yes", "yes"), ("no", "no")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(attributed_to__isnull=self.value() == "no")
        return queryset


@admin.register(Order)
class OrderAdmin(HistoryAdminMixin, ScopedAdmin):
    """Orders come from Kaspi only: read here, never added, edited or deleted by hand."""

    list_display = ["code", "shop", "state", "kaspi_status", "customer_first_name", "masked_phone", "total_price",
                    "placed", "delivered", "credited_to"]
    list_filter = ["state", "shop", "kaspi_state", "delivery_mode", AttributedFilter]
    search_fields = ["code", "kaspi_id", "customer_first_name", "customer_last_name", "customer_phone"]
    list_select_related = ["shop", "attributed_to"]
    date_hierarchy = "created_at_kaspi"
    inlines = [OrderEntryInline]
    readonly_fields = [field.name for field in Order._meta.fields]
    masked_fields = ("customer_phone",)

    @admin.display(description="placed (shop's time)", ordering="created_at_kaspi")
    def placed(self, order):
        return when(order.created_at_kaspi, order.shop.tz_name)

    @admin.display(description="delivered (shop's time)", ordering="delivered_at")
    def delivered(self, order):
        return when(order.delivered_at, order.shop.tz_name)

    @admin.display(description="Credited to", ordering="attributed_to")
    def credited_to(self, order):
        """The message this order is attributed to (within SELLER_ATTRIBUTION_DAYS after it)."""
        message = order.attributed_to
        if message is None:
            return "—"
        url = reverse("admin:messaging_outboundmessage_change", args=[message.pk])
        return format_html('<a href="{}">{} #{}</a>', url, message.get_trigger_display(), message.pk)

    @admin.display(description="phone")
    def masked_phone(self, order):
        return f"***{order.customer_phone[-4:]}" if order.customer_phone else ""


@admin.register(Product)
class ProductAdmin(ScopedAdmin):
    list_display = ["name", "shop", "code", "category_title", "last_price", "times_sold"]
    list_filter = ["shop", "category_title"]
    search_fields = ["name", "code", "sku"]
    list_select_related = ["shop"]
