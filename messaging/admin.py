import re
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from config.localtime import when
from config.readonly_admin import HistoryAdminMixin

from . import connect, explain, optouts, outbox, session_state
from .models import InboundMessage, LidOptOut, MessageEvent, OptOut, OutboundMessage, SessionPause
from .phones import normalize_phone
from .waha import WahaError


class MessageEventInline(HistoryAdminMixin, admin.TabularInline):
    model = MessageEvent
    extra = 0
    fields = readonly_fields = ["status", "note", "at"]


class AttentionFilter(admin.SimpleListFilter):
    """Rows an operator should look at: waiting longer than the reconciler allows, or unknown."""

    title = "needs attention"
    parameter_name = "attention"
    MOVING = (OutboundMessage.Status.PENDING, OutboundMessage.Status.APPROVED, OutboundMessage.Status.GENERATED,
              OutboundMessage.Status.SENDING)

    def lookups(self, request, model_admin):
        return [("stuck", "stuck (not moved for longer than SELLER_STUCK_MINUTES)"),
                ("unknown", "unknown (may have been sent; being checked in WAHA)")]

    def queryset(self, request, queryset):
        if self.value() == "stuck":
            before = timezone.now() - timedelta(minutes=settings.SELLER_STUCK_MINUTES)
            return queryset.filter(status__in=self.MOVING, updated_at__lt=before)
        if self.value() == "unknown":
            return queryset.filter(status=OutboundMessage.Status.UNKNOWN)
        return queryset


def customer_link(phone: str, name: str = "") -> str:
    """The customer's page (all their orders and messages), by phone."""
    if not phone:
        return name or "–"
    label = f"{name} ({phone})" if name else phone
    return format_html('<a href="{}">{}</a>', reverse("customer", args=[phone]), label)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(HistoryAdminMixin, admin.ModelAdmin):
    list_display = ["id", "customer", "shop", "order_link", "trigger", "status_in_words", "text_start", "source",
                    "updated"]
    list_filter = [AttentionFilter, "status", "reason", "trigger", "source", "shop"]
    search_fields = ["order__code", "phone", "waha_message_id", "text", "order__customer_first_name"]
    list_select_related = ["shop", "order"]
    date_hierarchy = "created_at"
    inlines = [MessageEventInline]
    readonly_fields = ["status_in_words", "written_by", *[field.name for field in OutboundMessage._meta.fields]]
    actions = ["cancel_messages", "retry_messages"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("events")

    @admin.display(description="customer", ordering="phone")
    def customer(self, message):
        return customer_link(message.phone, message.order.customer_first_name)

    @admin.display(description="order", ordering="order__code")
    def order_link(self, message):
        return format_html('<a href="{}">#{}</a>', reverse("admin:kaspi_sync_order_change", args=[message.order_id]),
                           message.order.code)

    @admin.display(description="status (why)", ordering="status")
    def status_in_words(self, message):
        return explain.status_words(message)

    @admin.display(description="text")
    def text_start(self, message):
        return explain.short_text(message)

    @admin.display(description="written by")
    def written_by(self, message):
        return explain.author_words(message)

    @admin.display(description="last change (shop's time)", ordering="updated_at")
    def updated(self, message):
        return when(message.updated_at, message.shop.tz_name)

    @admin.action(description="Cancel the selected messages that are not sent yet")
    def cancel_messages(self, request, queryset):
        count = outbox.cancel(queryset.filter(status__in=outbox.WAITING).values_list("pk", flat=True))
        self.message_user(request, f"{count} message(s) cancelled.")

    @admin.action(description="Retry the selected failed messages (policy checked again)")
    def retry_messages(self, request, queryset):
        count = outbox.retry(queryset.filter(status=OutboundMessage.Status.FAILED).values_list("pk", flat=True))
        self.message_user(request, f"{count} failed message(s) will be tried again.")


class OptOutForm(forms.ModelForm):
    class Meta:
        model = OptOut
        fields = ["phone", "shop", "keyword"]

    def clean_phone(self):
        phone = normalize_phone(self.cleaned_data["phone"])
        if phone is None:
            raise forms.ValidationError("Not a Kazakhstan mobile number (e.g. +7 701 123 45 67).")
        if OptOut.objects.filter(phone=phone).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This phone has opted out already.")
        return phone


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV, one phone per line in the first column; any usual format.")


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    form = OptOutForm
    list_display = ["phone", "source", "keyword", "shop", "created_at"]
    list_filter = ["source", "shop"]
    search_fields = ["phone", "keyword"]
    list_select_related = ["shop"]
    actions = ["export_csv"]
    change_list_template = "admin/messaging/optout/change_list.html"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source = OptOut.Source.ADMIN
        super().save_model(request, obj, form, change)

    def get_search_results(self, request, queryset, search_term):
        # "8 701 123 45 67" finds "+77011234567".
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        phone = normalize_phone(search_term)
        if phone:
            queryset |= self.model.objects.filter(phone=phone)
        return queryset, duplicates

    def get_urls(self):
        extra = [
            path("import-csv/", self.admin_site.admin_view(self.import_csv), name="messaging_optout_import"),
            path("export-csv/", self.admin_site.admin_view(self.export_all), name="messaging_optout_export"),
        ]
        return extra + super().get_urls()

    def import_csv(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:messaging_optout_changelist")
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text.")
            else:
                result = optouts.import_csv(text)
                self.message_user(request, f"{result.added} added, {result.existing} already opted out.")
                if result.refused:
                    lines = ", ".join(f"line {n} ({cell!r})" for n, cell in result.refused[:20])
                    more = f" and {len(result.refused) - 20} more" if len(result.refused) > 20 else ""
                    self.message_user(request, f"Not a Kazakhstan mobile, skipped: {lines}{more}", messages.WARNING)
                return redirect("admin:messaging_optout_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": "Import opt-outs from CSV"}
        return render(request, "admin/messaging/optout/import.html", context)

    def export_all(self, request):
        return self.csv_response(OptOut.objects.order_by("created_at"))

    @admin.action(description="Export the selected opt-outs to CSV")
    def export_csv(self, request, queryset):
        return self.csv_response(queryset.order_by("created_at"))

    def csv_response(self, queryset):
        response = HttpResponse(optouts.export_csv(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="opt-outs-{timezone.now():%Y%m%d}.csv"'
        return response


class PendingFilter(admin.SimpleListFilter):
    title = "processed"
    parameter_name = "processed"

    def lookups(self, request, model_admin):
        return [("no", "not yet (pending)"), ("yes", "yes")]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(processed_at__isnull=self.value() == "no")
        return queryset


@admin.register(InboundMessage)
class InboundMessageAdmin(HistoryAdminMixin, admin.ModelAdmin):
    """Replies; one not processed yet shows why (WAHA down, ...) and is tried again by the sweep."""

    list_display = ["received_at", "phone", "sender", "body", "is_opt_out", "in_reply_to", "processed_at",
                    "pending_reason", "attempts"]
    list_filter = [PendingFilter, "is_opt_out", "session"]
    search_fields = ["phone", "sender", "body"]
    list_select_related = ["in_reply_to"]
    readonly_fields = [field.name for field in InboundMessage._meta.fields]


class MappedFilter(admin.SimpleListFilter):
    title = "phone known"
    parameter_name = "mapped"

    def lookups(self, request, model_admin):
        return [("no", "not yet (unmapped)"), ("yes", "yes")]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(mapped_at__isnull=self.value() == "no")
        return queryset


@admin.register(LidOptOut)
class LidOptOutAdmin(admin.ModelAdmin):
    """Opt-outs of senders WAHA named only by an @lid. Unmapped ones are asked for again every
    15 minutes; once the phone is known it is in Opt-outs and gets nothing."""

    list_display = ["lid", "phone", "keyword", "session", "created_at", "mapped_at", "last_checked_at", "last_error"]
    list_filter = [MappedFilter, "session"]
    search_fields = ["lid", "phone"]
    readonly_fields = [field.name for field in LidOptOut._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(SessionPause)
class SessionPauseAdmin(admin.ModelAdmin):
    """WhatsApp's 463: these sessions send nothing to new contacts until the pause ends."""

    list_display = ["session", "paused_until", "is_active", "reason", "created_at"]
    readonly_fields = ["session", "reason", "created_at"]
    actions = ["resume"]

    @admin.display(boolean=True, description="paused now")
    def is_active(self, pause):
        return pause.paused_until > timezone.now()

    @admin.action(description="Resume sending to new contacts now")
    def resume(self, request, queryset):
        count = sum(session_state.resume(name) for name in queryset.values_list("session", flat=True))
        self.message_user(request, f"{count} session(s) resumed.")


# --- Connect WhatsApp (per shop: each shop's WAHA session) ---------------------------------
SESSION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,54}$")


def waha_refusal(exc: WahaError) -> str:
    if exc.reason == "waha_core_default_only":
        return f"WAHA refused: {connect.CORE_NOTE}"
    return f"WAHA refused: {exc}"


def whatsapp_connect(request, session: str):
    if not SESSION_NAME.match(session):
        raise Http404("no such session name")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "connect":
                info = connect.connect(session, request.build_absolute_uri(reverse("waha-webhook")))
                messages.success(request, f"Session {session} is {info['status']}; its webhook is set.")
            elif action == "test":
                masked = connect.send_test(session, request.POST.get("phone", ""))
                messages.success(request, f"Test message sent to {masked}.")
            elif action in ("stop", "logout"):
                getattr(connect, action)(session)
                messages.success(request, f"Session {session}: {'stopped' if action == 'stop' else 'logged out'}.")
        except ValueError as exc:
            messages.error(request, str(exc))
        except WahaError as exc:
            messages.error(request, waha_refusal(exc))
        return redirect("whatsapp-connect", session=session)
    context = {**admin.site.each_context(request), "title": f"Connect WhatsApp: session {session}",
               "session": session, "core_note": connect.CORE_NOTE, "is_default": session == settings.WAHA_SESSION,
               "state_url": reverse("whatsapp-state", args=[session])}
    return render(request, "admin/messaging/whatsapp_connect.html", context)


def whatsapp_state(request, session: str):
    if not SESSION_NAME.match(session):
        raise Http404("no such session name")
    try:
        return JsonResponse(connect.state(session))
    except WahaError as exc:
        return JsonResponse({"session": session, "exists": False, "status": "UNREACHABLE", "error": waha_refusal(exc),
                             "phone": "", "qr": ""})


def whatsapp_default(request):
    return redirect("whatsapp-connect", session=settings.WAHA_SESSION)
