from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bulkops", "0005_10_attempt_progress"),
    ]

    operations = [
        migrations.AddField(
            model_name="bulktask",
            name="selection",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
    ]
