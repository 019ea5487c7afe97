from django.db import models
from django.utils import timezone


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
