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
