from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from . import optouts, outbox, session_state
from .models import InboundMessage, MessageEvent, OptOut, OutboundMessage, SessionPause
from .phones import normalize_phone


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    extra = 0
    readonly_fields = ["status", "note", "at"]
    can_delete = False


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


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "shop", "order", "trigger", "status", "reason", "source", "not_before", "attempts", "sent_at",
                    "updated_at", "why"]
    list_filter = [AttentionFilter, "status", "reason", "trigger", "source", "shop"]
    search_fields = ["order__code", "phone", "waha_message_id", "text"]
    list_select_related = ["shop", "order"]
    date_hierarchy = "created_at"
    inlines = [MessageEventInline]
    readonly_fields = [field.name for field in OutboundMessage._meta.fields]
    actions = ["cancel_messages", "retry_messages"]

    @admin.display(description="why")
    def why(self, message):
        """The last error, else the note of the last status change."""
        if message.last_error:
            return message.last_error[:120]
        last = message.events.order_by("-at", "-id").first()
        return last.note[:120] if last else ""

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


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "phone", "body", "is_opt_out", "in_reply_to", "processed_at"]
    list_filter = ["is_opt_out", "session"]
    search_fields = ["phone", "body"]
    list_select_related = ["in_reply_to"]
    readonly_fields = [field.name for field in InboundMessage._meta.fields]


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
