"""Who may do what (named permissions, roles as groups), which shops a merchant sees, and the
audit trail of what people did. Shops are named by ORM path only: this app sits under all the
others (config below it)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Capability(models.Model):
    """Holds no rows: its Meta names the permissions that are not about one model's rows."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("every_shop", "Sees and acts on every shop (staff of the installation)"),
            ("view_phones", "Sees customers' phone numbers in full"),
            ("retry_message", "Retries failed outbox messages (they may be sent)"),
            ("cancel_message", "Cancels outbox messages not sent yet"),
            ("review_message", "Approves (they are sent) or rejects messages in review"),
            ("preview_message", "Previews messages (asks the model; nothing is sent)"),
            ("sync_shop", "Starts a shop's Kaspi sync now"),
            ("change_shop_token", "Sets a shop's Kaspi token"),
            ("resume_session", "Resumes a paused WhatsApp session"),
            ("connect_session", "Connects a WhatsApp session (its QR code), stops it, logs it out, tests it"),
            ("import_optouts", "Imports opt-outs from CSV"),
            ("export_optouts", "Exports opt-outs (phones in full) to CSV"),
            ("trigger_delivered", "Fires ORDER_DELIVERED by hand (POST /ai-seller/trigger-delivered)"),
            ("view_metrics", "Reads the figures (GET /ai-seller/metrics, /metrics, the dashboard)"),
            ("reset_metrics", "Starts a new counting period"),
            ("view_status", "Reads the system status (GET /ai-seller/status)"),
            ("view_sales", "Reads a shop's orders and sales (GET /kaspi/get_sells_info)"),
        ]


class ShopAccess(models.Model):
    """Ties a user to a shop: a user with any of these sees only those shops."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_access")
    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.CASCADE, related_name="access")
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "shop"], name="one_access_per_user_shop")]
        verbose_name = "shop access"
        verbose_name_plural = "shop access"

    def __str__(self):
        return f"{self.user} → shop {self.shop_id}"


class AuditEntry(models.Model):
    """One thing a person (or a customer's reply) changed. Written once, never edited."""

    class Action(models.TextChoices):
        OUTBOX_CANCEL = "outbox.cancel", "outbox: cancelled"
        OUTBOX_RETRY = "outbox.retry", "outbox: retried"
        OPTOUT_ADD = "optout.add", "opt-out: added"
        OPTOUT_REMOVE = "optout.remove", "opt-out: removed"
        OPTOUT_IMPORT = "optout.import", "opt-outs: imported"
        OPTOUT_EXPORT = "optout.export", "opt-outs: exported"
        SHOP_CHANGE = "shop.change", "shop: settings changed"
        SHOP_TOKEN = "shop.token", "shop: Kaspi token set"
        SHOP_SYNC = "shop.sync", "shop: sync started"
        SHOP_ACCESS = "shop.access", "shop: access granted or removed"
        SESSION_CONNECT = "session.connect", "WhatsApp session: connected"
        SESSION_RESUME = "session.resume", "WhatsApp session: resumed"
        METRICS_RESET = "metrics.reset", "metrics: new counting period"
        TRIGGER_DELIVERED = "trigger.delivered", "ORDER_DELIVERED fired by hand"
        KEYS_ROTATED = "keys.rotate", "encryption key rotated"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    actor = models.CharField(max_length=150, help_text="The user's name then, or who else acted (a customer's reply)")
    action = models.CharField(max_length=40, choices=Action.choices, db_index=True)
    shop = models.ForeignKey("kaspi_sync.Shop", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    target = models.CharField(max_length=200, blank=True, help_text="What it was done to")
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"
