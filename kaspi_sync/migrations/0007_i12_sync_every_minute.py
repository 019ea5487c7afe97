"""Sync every minute, not every five: a new order's thank-you leaves within two minutes of Kaspi
showing it (p95, bench/pipeline.py). A sync that finds nothing new is a dozen light requests."""

from django.db import migrations

NAME = "Sync every Kaspi shop"


def every(minutes):
    def change(apps, schema_editor):
        IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
        PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.filter(name=NAME, task="kaspi_sync.sync_all_shops").update(interval=interval)
    return change


class Migration(migrations.Migration):
    dependencies = [("kaspi_sync", "0006_i12_sync_quarantine"), ("kaspi_sync", "0006_i9_shop_mode"),
                    ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(every(1), every(5))]
