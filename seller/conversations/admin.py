"""The operator's inbox: handoffs with the whole conversation, the order and the reason; a reply
box that sends through WAHA; the shop's knowledge base; every answer and what each reply became."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from access.admin_scope import ScopedAdmin
from access.permissions import check, requires
from messaging.models import InboundMessage, OutboundMessage
from messaging.phones import mask
from messaging.session_state import sent_through
from seller.models import Answer, HandledReply, Handoff, KnowledgeEntry

from . import handoffs


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(ScopedAdmin):
    list_display = ["shop", "topic", "text", "is_active", "updated_at"]
    list_filter = ["shop", "topic", "is_active"]
    search_fields = ["text"]


def chat(handoff: Handoff) -> list[tuple]:
    """(time, who, text) of the chat, oldest first: our messages, the customer's, the answers."""
    since = handoff.opened_at - timezone.timedelta(days=30)
    ours = [(m.sent_at, "shop (AI message)", m.text) for m in OutboundMessage.objects.filter(
        sent_through(handoff.session), phone=handoff.phone, sent_at__gte=since)]
    answers = [(a.sent_at or a.created_at, f"shop ({a.get_kind_display()}{', ' + a.author if a.author else ''}; {a.status})",
                a.text) for a in Answer.objects.filter(session=handoff.session, phone=handoff.phone, created_at__gte=since)]
    theirs = [(m.received_at, "customer", m.body) for m in InboundMessage.objects.filter(
        phone=handoff.phone, received_at__gte=since)]
    return sorted(ours + answers + theirs, key=lambda item: item[0])


class HandoffForm(forms.ModelForm):
    reply = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
                            help_text="Sent to the customer through WhatsApp (WAHA) when you save")
    close_now = forms.BooleanField(required=False, label="Close the handoff",
                                   help_text="The AI answers this customer again, and marketing messages resume")

    class Meta:
        model = Handoff
        fields = []

    def clean_reply(self):
        """Refused here, before anything is saved: the operator sees why, and the text stays."""
        text = self.cleaned_data.get("reply", "").strip()
        problems = handoffs.operator_problems(self.instance, text) if text else []
        if problems:
            raise forms.ValidationError(["Not sent: the reply has " + problem + "." for problem in problems])
        return text


@admin.register(Handoff)
class HandoffAdmin(ScopedAdmin):
    form = HandoffForm
    list_display = ["id", "opened_at", "shop", "customer", "order", "reason", "status", "closed_at"]
    list_filter = ["status", "reason", "shop"]
    list_select_related = ["shop", "order"]
    readonly_fields = ["shop", "customer", "order", "reason", "status", "opened_at", "closed_at", "closed_by",
                       "conversation"]
    actions = ["close_handoffs"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="customer")
    def customer(self, handoff):
        return mask(handoff.phone)

    @admin.display(description="conversation")
    def conversation(self, handoff):
        rows = format_html_join("", "<tr><td>{}</td><td><b>{}</b></td><td>{}</td></tr>",
                                ((f"{at:%d.%m %H:%M}", who, text) for at, who, text in chat(handoff)))
        return format_html("<table>{}</table>", rows)

    def save_model(self, request, handoff, form, change):
        check(request.user, "seller.change_handoff")  # a reply goes to the customer
        text = form.cleaned_data.get("reply", "").strip()
        if text:
            handoffs.operator_reply(handoff, text, request.user.get_username())
            messages.success(request, "Your reply is on its way to the customer.")
        if form.cleaned_data.get("close_now"):
            handoffs.close([handoff.pk], by=request.user.get_username())

    @admin.action(description="Close the selected handoffs")
    @requires("seller.change_handoff")
    def close_handoffs(self, request, queryset):
        closed = handoffs.close(queryset.values_list("pk", flat=True), by=request.user.get_username())
        messages.success(request, f"{closed} handoffs closed.")


@admin.register(Answer)
class AnswerAdmin(ScopedAdmin):
    list_display = ["id", "created_at", "shop", "customer", "kind", "status", "reason", "text", "sent_at"]
    list_filter = ["kind", "status", "shop"]
    list_select_related = ["shop"]
    readonly_fields = [f.name for f in Answer._meta.fields if f.name != "phone"] + ["customer"]
    exclude = ["phone"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="customer")
    def customer(self, answer):
        return mask(answer.phone)


@admin.register(HandledReply)
class HandledReplyAdmin(ScopedAdmin):
    list_display = ["id", "handled_at", "shop", "label", "label_source", "language", "outcome", "answer", "handoff"]
    list_filter = ["outcome", "label", "label_source", "shop"]
    readonly_fields = ["inbound", "shop", "label", "label_source", "language", "outcome", "answer", "handoff",
                       "handled_at"]

    def has_add_permission(self, request):
        return False
