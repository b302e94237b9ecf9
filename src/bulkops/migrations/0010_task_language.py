"""Tasks record the language of whoever started them: their e-mail and error report are
written in it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bulkops', '0009_17_message_ids'),
    ]

    operations = [
        migrations.AddField(
            model_name='bulktask',
            name='language',
            field=models.CharField(blank=True, editable=False, max_length=15, verbose_name='language'),
        ),
    ]
