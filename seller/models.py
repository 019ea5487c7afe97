from django.db import models
from django.utils import timezone

from messaging.models import Trigger


class MetricsPeriod(models.Model):
    """Where counting starts: `reset-metrics` opens a new period and deletes nothing."""

    since = models.DateTimeField(default=timezone.now)

    class Meta:
        get_latest_by = "since"

    def __str__(self):
        return f"since {self.since:%Y-%m-%d %H:%M}"


class GoLiveStep(models.Model):
    """One step of a shop's way from dry mode to live, with what its last check found."""

    class Step(models.TextChoices):
        KASPI = "kaspi", "Kaspi token works (one read of the API)"
        WAHA = "waha", "WhatsApp (WAHA) session connected"
        WEBHOOK = "webhook", "WAHA's webhook reaches us"
        MODEL = "model", "The model answers (a preview with the real model)"
        POLICY = "policy", "Policy reviewed (quiet hours, caps, cooldown, triggers, templates)"
        TEST_MESSAGE = "test_message", "A first message to the operator's own number"

    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, related_name="go_live_steps")
    step = models.CharField(max_length=20, choices=Step.choices)
    ok = models.BooleanField(default=False)
    detail = models.TextField(blank=True)
    checked_at = models.DateTimeField(default=timezone.now)
    checked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "step"], name="one_go_live_step_per_shop")]

    def __str__(self):
        return f"{self.shop_id} {self.step}: {'ok' if self.ok else 'not yet'}"


class KnowledgeEntry(models.Model):
    """A few lines the merchant writes in admin (delivery, returns, ...): what the seller may
    answer from, besides the order itself."""

    class Topic(models.TextChoices):
        DELIVERY = "delivery"
        RETURNS = "returns"
        EXCHANGE = "exchange"
        WARRANTY = "warranty"
        HOURS = "hours", "working hours"
        REVIEWS = "reviews", "how to leave a review"
        OTHER = "other"

    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, related_name="knowledge")
    topic = models.CharField(max_length=20, choices=Topic.choices)
    text = models.TextField(help_text="In the shop's words; the seller quotes it, never adds to it")
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shop", "topic"]
        verbose_name_plural = "knowledge entries"

    def __str__(self):
        return f"{self.get_topic_display()}: {self.text[:40]}"


class Handoff(models.Model):
    """A conversation a person must take: open until an operator closes it. While open, the AI
    stays silent in that chat and marketing messages to the customer wait."""

    class Reason(models.TextChoices):
        COMPLAINT = "complaint"
        PERSON = "asked_for_person", "asked for a person"
        NO_ANSWER = "no_answer", "no answer in the data"
        THIRD_REPLY = "third_reply", "third reply in a row"
        MODEL = "model_unavailable", "model down or nonsense"
        GUARDRAIL = "guardrail", "the answer broke a guardrail"
        LIMIT = "limit", "automatic answers used up"
        SEND = "send_failed", "the answer could not be sent"

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, related_name="handoffs")
    order = models.ForeignKey("kaspi_sync.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    phone = models.CharField(max_length=20, db_index=True)
    session = models.CharField(max_length=100, help_text="The WAHA session (WhatsApp number) of the chat")
    reason = models.CharField(max_length=30, choices=Reason.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [models.UniqueConstraint(fields=["session", "phone"], condition=models.Q(status="open"),
                                               name="one_open_handoff_per_chat")]

    def __str__(self):
        return f"handoff {self.pk} ({self.get_reason_display()}, {self.status})"


class Answer(models.Model):
    """A message we write back in a conversation (the model's answer, a template, or an
    operator's words). Like the outbox: `sending` is committed before the WAHA request."""

    class Kind(models.TextChoices):
        ANSWER = "answer", "automatic answer"
        ACK = "acknowledgement", "handoff acknowledgement"
        CONFIRMATION = "confirmation", "opt-out confirmation"
        OPERATOR = "operator", "operator's reply"

    class Status(models.TextChoices):
        READY = "ready"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        UNKNOWN = "unknown", "unknown (the request may have left)"
        CANCELLED = "cancelled"

    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, related_name="answers")
    order = models.ForeignKey("kaspi_sync.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    handoff = models.ForeignKey(Handoff, on_delete=models.SET_NULL, null=True, blank=True, related_name="answers")
    phone = models.CharField(max_length=20, db_index=True)
    session = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.TextField()
    author = models.CharField(max_length=150, blank=True, help_text="The operator, for an operator's reply")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY, db_index=True)
    reason = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    waha_message_id = models.CharField(max_length=200, blank=True)
    first_reply_at = models.DateTimeField(null=True, blank=True, help_text="When the customer's first reply it answers came")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.pk} ({self.status})"


class HandledReply(models.Model):
    """What the seller made of one customer reply: its class and what happened. One per reply;
    several replies folded into one answer share it."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered"
        HANDED_OFF = "handed_off", "handed off"
        WITH_OPERATOR = "with_operator", "a person handles the chat"
        OPT_OUT = "opt_out", "opted out"
        SILENT = "silent", "nothing to answer"
        LIMIT = "limit", "automatic answers used up"
        NO_SHOP = "no_shop", "no shop for this chat"

    inbound = models.OneToOneField("messaging.InboundMessage", on_delete=models.CASCADE, related_name="handled")
    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    label = models.CharField(max_length=20)
    label_source = models.CharField(max_length=10, help_text="keywords, model, or none")
    language = models.CharField(max_length=2, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    answer = models.ForeignKey(Answer, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies")
    handoff = models.ForeignKey(Handoff, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies")
    handled_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-handled_at"]
        verbose_name_plural = "handled replies"


class Variant(models.Model):
    """One way of writing a trigger's message. A shop with two or more active variants of a
    trigger splits its customers between them by weight, each customer always in the same one
    (`seller.variants`); empty fields keep the shop's own voice, the trigger's goal and template."""

    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, related_name="variants")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    name = models.SlugField(max_length=50, help_text="Shown in the metrics; keep it once messages went out")
    weight = models.PositiveIntegerField(default=1, help_text="Share of customers, relative to the other variants")
    is_active = models.BooleanField(default=True)
    voice = models.TextField(blank=True, help_text="Empty: the shop's voice")
    goal = models.TextField(blank=True, help_text="What the model is asked to do; empty: the trigger's goal")
    suggest_product = models.BooleanField(default=True, help_text="May suggest a related product")
    fallback_template = models.TextField(blank=True, help_text="Empty: the shop's template for the trigger")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "trigger", "name"], name="unique_variant_name")]
        ordering = ["shop", "trigger", "name"]

    def __str__(self):
        return f"{self.trigger} / {self.name}"


class ReachedMessage(models.Model):
    """An outbox row that reached its customer (messaged) or would have (held out), with what the
    customer bought at the shop within the attribution window after that moment: the lift's
    figures, one row per message. Kept by PostgreSQL's triggers (`seller.reached`); a sales
    concept, so it lives here and not on the outbox row."""

    class Arm(models.TextChoices):
        MESSAGED = "messaged"
        HOLDOUT = "holdout"

    message = models.OneToOneField("messaging.OutboundMessage", on_delete=models.CASCADE, primary_key=True,
                                   related_name="+")
    arm = models.CharField(max_length=10, choices=Arm.choices)
    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, related_name="+", db_index=False)
    phone = models.CharField(max_length=20)
    trigger = models.CharField(max_length=20)
    variant = models.CharField(max_length=50, blank=True)
    moment = models.DateTimeField(help_text="Delivered (sent, when no ack came); held out: when it was blocked")
    orders = models.IntegerField(help_text="The customer's orders at the shop within the window after the moment")
    revenue = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        indexes = [
            models.Index(fields=["shop", "phone", "moment"], name="reached_customer_moment"),  # an order's recount
            models.Index(fields=["moment"], name="reached_moment"),  # a period's rows
        ]

    def __str__(self):
        return f"{self.arm} message {self.message_id}: {self.orders} orders"
