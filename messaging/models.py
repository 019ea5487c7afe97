from django.db import models
from django.utils import timezone

from .phones import mask


class Trigger(models.TextChoices):
    POST_PURCHASE = "POST_PURCHASE", "order placed"
    ORDER_DELIVERED = "ORDER_DELIVERED", "order delivered"


class OutboundMessage(models.Model):
    """The outbox: one row per (order, trigger), ever. Its status is the pipeline's state."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DEFERRED = "deferred"
        BLOCKED = "blocked"
        APPROVED = "approved", "approved (place reserved)"
        GENERATED = "generated"
        REVIEW = "review", "waiting for an operator's review"
        SENDING = "sending"
        SENT = "sent"
        DELIVERED = "delivered"
        READ = "read"
        FAILED = "failed"
        UNKNOWN = "unknown", "unknown (the request may have left)"
        CANCELLED = "cancelled"
        DRY_RUN = "dry_run", "written, not sent (dry mode)"

    class Source(models.TextChoices):
        AI = "ai"
        FALLBACK = "fallback"

    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, related_name="outbox")
    order = models.ForeignKey("kaspi_sync.Order", on_delete=models.CASCADE, related_name="messages")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    phone = models.CharField(max_length=20, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    reason = models.CharField(max_length=50, blank=True, help_text="Why blocked, failed or cancelled")
    not_before = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set while the row holds a place under the cap and cooldown (Redis is rebuilt from these).
    reserved_at = models.DateTimeField(null=True, blank=True, db_index=True)

    text = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, blank=True)
    fallback_reason = models.CharField(max_length=200, blank=True)
    # One repair before the fallback: the model's first reply, what it broke, and its second try.
    first_reply = models.TextField(blank=True, help_text="The model's first reply, when it broke a check")
    repair_reason = models.CharField(max_length=300, blank=True, help_text="What the first reply broke")
    second_reply = models.TextField(blank=True, help_text="The model's reply to the repair request")
    variant = models.CharField(max_length=50, blank=True, help_text="The trigger's variant it was written with")
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    generation_ms = models.PositiveIntegerField(null=True, blank=True)

    chat_id = models.CharField(max_length=100, blank=True)
    waha_message_id = models.CharField(max_length=200, blank=True, db_index=True)
    # The raw part of WAHA's id (`true_<chat>_<raw>` -> `<raw>`): acks name a message either way.
    waha_raw_id = models.CharField(max_length=200, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "trigger"], name="one_message_per_order_trigger")]
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.trigger} for order {self.order_id} ({self.status})"


class MessageEvent(models.Model):
    """Each status change of an outbox row: the audit trail and the source of metrics over time."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=OutboundMessage.Status.choices)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["at", "id"]


class OptOut(models.Model):
    """A phone that must never be written to again, until an admin removes it."""

    class Source(models.TextChoices):
        REPLY = "reply", "customer reply"
        ADMIN = "admin"
        IMPORT = "import", "CSV import"

    phone = models.CharField(max_length=20, unique=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)
    keyword = models.CharField(max_length=100, blank=True)
    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        # Shown in titles, breadcrumbs and the admin's history, also to those who may not see phones.
        return f"opt-out {mask(self.phone)}"


class InboundMessage(models.Model):
    """A customer's reply received through the WAHA webhook."""

    waha_id = models.CharField(max_length=200, unique=True)
    sender = models.CharField(max_length=100, blank=True, help_text="WAHA's chat id of the sender (@c.us or @lid)")
    phone = models.CharField(max_length=20, blank=True, db_index=True)
    body = models.TextField(blank=True)
    session = models.CharField(max_length=100, blank=True)
    in_reply_to = models.ForeignKey(OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies")
    is_opt_out = models.BooleanField(default=False)
    # This reply recorded a new opt-out (in the webhook itself): confirm it to the customer once.
    confirm_opt_out = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # While not processed: why not yet (WAHA down, ...), and how often it was tried. Retried by time.
    pending_reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]


class LidOptOut(models.Model):
    """An opt-out by a sender WAHA named only by an @lid: it blocks the phone as soon as the
    lid's phone is known (a later lookup, or a message that carries both forms)."""

    lid = models.CharField(max_length=100, unique=True)
    session = models.CharField(max_length=100, blank=True)
    keyword = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="Empty until the lid is mapped")
    created_at = models.DateTimeField(default=timezone.now)
    mapped_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "opt-out by @lid"
        verbose_name_plural = "opt-outs by @lid"

    def __str__(self):
        return self.lid


class WebhookCount(models.Model):
    """Webhooks received, per WAHA session and outcome ("accepted" or why refused): a missing
    HMAC key or a wrong one shows here and in /ai-seller/status instead of losing events silently."""

    session = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=50)
    count = models.PositiveBigIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "outcome"], name="one_webhook_count_per_outcome")]


class SessionPause(models.Model):
    """A WAHA session that may not start new chats for now (WhatsApp's 463 reachout timelock)."""

    session = models.CharField(max_length=100, unique=True)
    paused_until = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-paused_until"]

    def __str__(self):
        return f"{self.session} paused until {self.paused_until:%Y-%m-%d %H:%M}"


class MessageOutcome(models.Model):
    """Per outbox row and outcome (`sent`, `delivered`, ... `blocked`, and `any` status), the first
    and the last time it happened: a summary of MessageEvent that PostgreSQL keeps in the events'
    own transaction (`messaging.outcomes`), so the metrics read one row where they read many events."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="outcomes", db_index=False)
    outcome = models.CharField(max_length=20)
    # The row's shop and trigger (they never change), so the metrics group without a join.
    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, related_name="+", db_index=False)
    trigger = models.CharField(max_length=20)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "outcome"], name="one_outcome_row_per_message")]
        indexes = [models.Index(fields=["last_at"], name="message_outcome_last_at")]

    def __str__(self):
        return f"{self.outcome} of message {self.message_id}"
