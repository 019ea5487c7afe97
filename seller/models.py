from django.db import models
from django.utils import timezone


class MetricsPeriod(models.Model):
    """Where counting starts: `reset-metrics` opens a new period and deletes nothing."""

    since = models.DateTimeField(default=timezone.now)

    class Meta:
        get_latest_by = "since"

    def __str__(self):
        return f"since {self.since:%Y-%m-%d %H:%M}"
