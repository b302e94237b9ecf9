"""Message ids beside the English texts of tasks and row errors (bulkops.texts).

Rows written before keep an empty ``*_data`` and show their stored text as it is.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bulkops", "0007_task_notes")]

    operations = [
        migrations.AddField(
            model_name="bulktask",
            name="message_data",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AddField(
            model_name="bulktask",
            name="stage_data",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AddField(
            model_name="bulktask",
            name="label_data",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AddField(
            model_name="bulktaskerror",
            name="message_data",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
    ]
