from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("kaspi_sync", "0006_i9_shop_mode")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="is_kaspi_delivery",
            field=models.BooleanField(blank=True, help_text="Kaspi's isKaspiDelivery; empty: not said", null=True),
        ),
        migrations.AddField(
            model_name="order",
            name="pickup_point_id",
            field=models.CharField(blank=True, help_text="Kaspi's pickupPointId", max_length=100),
        ),
    ]
