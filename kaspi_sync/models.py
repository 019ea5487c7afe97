from django.conf import settings
from django.db import models
from encrypted_model_fields.fields import EncryptedCharField

from kaspi_sync import quiet_hours


class Shop(models.Model):
    """A Kaspi merchant: its token, its WhatsApp session and its seller policy.

    Policy fields left empty fall back to the SELLER_* settings (see `policy()`).
    """

    class TokenStatus(models.TextChoices):
        OK = "ok"
        REJECTED = "rejected", "rejected by Kaspi"

    class Language(models.TextChoices):
        RU = "ru", "Русский"
        KK = "kk", "Қазақша"

    name = models.CharField(max_length=200)
    kaspi_token = EncryptedCharField(max_length=500)
    is_active = models.BooleanField(default=True)
    token_status = models.CharField(max_length=20, choices=TokenStatus.choices, default=TokenStatus.OK)
    last_sync_error = models.TextField(blank=True)
    last_sync_error_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    sync_failures = models.PositiveIntegerField(default=0, help_text="Failed syncs in a row")
    sync_paused_until = models.DateTimeField(
        null=True, blank=True, help_text="Kaspi answered 403 not about the token: syncs wait until then")
    sync_watermark = models.DateTimeField(null=True, blank=True, help_text="Orders created before this were seen")

    class Mode(models.TextChoices):
        OFF = "off", "off (nothing written or sent)"
        DRY = "dry", "dry (written and shown, never sent)"
        REVIEW = "review", "review (sent once an operator approves)"
        LIVE = "live", "live"

    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.LIVE)
    waha_session = models.CharField(max_length=100, blank=True, help_text="Empty: WAHA_SESSION")
    timezone = models.CharField(max_length=64, blank=True, help_text="Empty: SELLER_TIMEZONE")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.RU)
    voice = models.TextField(blank=True, help_text="A few lines on how the shop speaks to customers")
    post_purchase_enabled = models.BooleanField(default=True)
    order_delivered_enabled = models.BooleanField(default=True)
    fallback_post_purchase = models.TextField(blank=True, help_text="Empty: the built-in template")
    fallback_order_delivered = models.TextField(blank=True, help_text="Empty: the built-in template")

    max_messages = models.PositiveIntegerField(null=True, blank=True)
    cap_window_days = models.PositiveIntegerField(null=True, blank=True)
    max_daily_messages = models.PositiveIntegerField(null=True, blank=True)
    cooldown_hours = models.FloatField(null=True, blank=True)
    max_defer_hours = models.FloatField(null=True, blank=True)
    quiet_hours = models.CharField(max_length=20, null=True, blank=True, validators=[quiet_hours.validate],
                                   help_text='"21:00-09:00" in the shop\'s time zone; "off": none; empty: SELLER_QUIET_HOURS')
    delivered_delay_hours = models.FloatField(null=True, blank=True)
    post_purchase_delay_hours = models.FloatField(null=True, blank=True)
    holdout_percent = models.FloatField(null=True, blank=True,
                                        help_text="Customers who get no message, to measure the lift; empty: SELLER_HOLDOUT_PERCENT")

    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name

    @property
    def masked_token(self) -> str:
        token = self.kaspi_token or ""
        return f"…{token[-4:]}" if len(token) > 8 else "…"

    @property
    def session_name(self) -> str:
        return self.waha_session or settings.WAHA_SESSION

    @property
    def tz_name(self) -> str:
        return self.timezone or settings.SELLER_TIMEZONE

    def setting(self, field: str):
        """The shop's own value of a policy field, or the SELLER_* default."""
        value = getattr(self, field)
        return getattr(settings, f"SELLER_{field.upper()}") if value is None else value

    def trigger_enabled(self, trigger: str) -> bool:
        return getattr(self, f"{trigger.lower()}_enabled")


class Product(models.Model):
    """The shop's catalogue, learned from the items its customers buy."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    code = models.CharField(max_length=100, help_text="Kaspi product code, as in kaspi.kz/shop/p/-<code>/")
    kaspi_id = models.CharField(max_length=200, blank=True, db_index=True,
                                help_text="Kaspi's opaque product id, so the code is fetched once per product")
    sku = models.CharField(max_length=100, blank=True, help_text="The merchant's offer code")
    name = models.CharField(max_length=500)
    category_code = models.CharField(max_length=200, blank=True)
    category_title = models.CharField(max_length=200, blank=True)
    last_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    times_sold = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "code"], name="unique_product_per_shop")]

    def __str__(self):
        return self.name

    @property
    def url(self) -> str:
        return f"https://kaspi.kz/shop/p/-{self.code}/"


class Order(models.Model):
    class State(models.TextChoices):
        NEW = "new"
        ACCEPTED = "accepted"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"
        RETURNED = "returned"

    # Indexes are in Meta: plain ones, without the LIKE twins Django adds to each db_index=True
    # CharField, since a sync writes thousands of orders at a time.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="orders", db_index=False)
    kaspi_id = models.CharField(max_length=100)
    code = models.CharField(max_length=50)
    state = models.CharField(max_length=20, choices=State.choices, default=State.NEW)
    kaspi_state = models.CharField(max_length=30, blank=True)
    kaspi_status = models.CharField(max_length=50, blank=True)
    cancellation_reason = models.CharField(max_length=100, blank=True)
    total_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    delivery_mode = models.CharField(max_length=50, blank=True)
    planned_delivery_date = models.DateTimeField(null=True, blank=True)
    is_kaspi_delivery = models.BooleanField(null=True, blank=True, help_text="Kaspi's isKaspiDelivery; empty: not said")
    pickup_point_id = models.CharField(max_length=100, blank=True, help_text="Kaspi's pickupPointId")
    created_at_kaspi = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True, help_text="When the sync first saw it COMPLETED")

    customer_first_name = models.CharField(max_length=100, blank=True)
    customer_last_name = models.CharField(max_length=100, blank=True)
    # E.164, kept as first seen on an active order: Kaspi may mask it once the order is finished.
    customer_phone = models.CharField(max_length=20, blank=True)
    # The last message delivered to this customer within SELLER_ATTRIBUTION_DAYS before the order.
    attributed_to = models.ForeignKey("messaging.OutboundMessage", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="attributed_orders", db_index=False)

    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "kaspi_id"], name="unique_order_per_shop")]
        indexes = [
            models.Index(fields=["shop", "created_at_kaspi"], name="order_shop_created"),
            models.Index(fields=["shop", "state"], name="order_shop_state"),
            models.Index(fields=["code"], name="order_code"),
            models.Index(fields=["customer_phone"], name="order_customer_phone"),
            # Covering: the lift reads a customer's orders after a moment from the index alone.
            models.Index(fields=["shop", "customer_phone", "created_at_kaspi"], name="order_shop_customer_created",
                         include=["state", "total_price"]),
            models.Index(fields=["attributed_to"], name="order_attributed_to",
                         condition=models.Q(attributed_to__isnull=False)),
        ]
        ordering = ["-created_at_kaspi"]

    def __str__(self):
        return f"#{self.code}"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DELIVERED, self.State.CANCELLED, self.State.RETURNED)


class OrderEntry(models.Model):
    # The unique (order, entry_number) constraint's index serves lookups by order.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="entries", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="entries")
    kaspi_id = models.CharField(max_length=100, blank=True)
    entry_number = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=500)
    category_title = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    base_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "entry_number"], name="unique_entry_per_order")]
        ordering = ["entry_number"]
        verbose_name_plural = "order entries"

    def __str__(self):
        return f"{self.quantity} × {self.name}"


class QuarantinedOrder(models.Model):
    """An order Kaspi sent that could not be parsed or saved: kept with Kaspi's raw resource
    and the error, so the rest of its page is saved and the shop keeps syncing. An operator
    fixes the cause and tries again (admin); a later sync that saves it removes it."""

    class Stage(models.TextChoices):
        PARSE = "parse", "could not be parsed"
        FETCH = "fetch", "its items or product could not be read"
        STORE = "store", "could not be saved"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="quarantined_orders")
    kaspi_id = models.CharField(max_length=200, blank=True, help_text="Empty when Kaspi's reply had no usable id")
    code = models.CharField(max_length=200, blank=True)
    stage = models.CharField(max_length=10, choices=Stage.choices)
    error = models.TextField()
    raw = models.JSONField(help_text="The order as Kaspi sent it")
    attempts = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "kaspi_id"], condition=~models.Q(kaspi_id=""),
                                               name="unique_quarantined_order_per_shop")]
        ordering = ["-last_seen_at"]

    def __str__(self):
        return f"#{self.code or self.kaspi_id or '?'} ({self.get_stage_display()})"
