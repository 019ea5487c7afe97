from django.contrib import admin

from .models import MetricsPeriod


@admin.register(MetricsPeriod)
class MetricsPeriodAdmin(admin.ModelAdmin):
    list_display = ["since"]
