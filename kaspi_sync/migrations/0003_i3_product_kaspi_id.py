from django.db import migrations, models


def mark_opaque_codes(apps, schema_editor):
    """Earlier syncs stored Kaspi's opaque product id as the code. Keep it as kaspi_id too:
    a product whose code equals its kaspi_id is unresolved, and the next sync that sees it
    fetches its real code."""
    Product = apps.get_model("kaspi_sync", "Product")
    for product in Product.objects.filter(kaspi_id=""):
        if not product.code.isdigit():
            Product.objects.filter(pk=product.pk).update(kaspi_id=product.code)


class Migration(migrations.Migration):

    dependencies = [
        ('kaspi_sync', '0002_beat_schedule'),
    ]

    operations = [
        migrations.AddField(
            model_name='product',
            name='kaspi_id',
            field=models.CharField(blank=True, db_index=True, help_text="Kaspi's opaque product id, so the code is fetched once per product", max_length=200),
        ),
        migrations.AlterField(
            model_name='product',
            name='code',
            field=models.CharField(help_text='Kaspi product code, as in kaspi.kz/shop/p/-<code>/', max_length=100),
        ),
        migrations.RunPython(mark_opaque_codes, migrations.RunPython.noop),
    ]
