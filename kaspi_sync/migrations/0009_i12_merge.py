from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("kaspi_sync", "0007_i12_sync_every_minute"), ("kaspi_sync", "0008_merge_i11_i16")]
    operations = []
