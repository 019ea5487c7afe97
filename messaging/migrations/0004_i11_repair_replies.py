from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_i9_approved_status")]

    operations = [
        migrations.AddField(
            model_name="outboundmessage",
            name="first_reply",
            field=models.TextField(blank=True, help_text="The model's first reply, when it broke a check"),
        ),
        migrations.AddField(
            model_name="outboundmessage",
            name="repair_reason",
            field=models.CharField(blank=True, help_text="What the first reply broke", max_length=300),
        ),
        migrations.AddField(
            model_name="outboundmessage",
            name="second_reply",
            field=models.TextField(blank=True, help_text="The model's reply to the repair request"),
        ),
    ]
