"""Jobs keep OLake's advanced settings (max_discover_threads)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pipelines", "0004_chunked_loads")]

    operations = [
        migrations.AddField(
            model_name="job",
            name="advanced_settings",
            field=models.JSONField(
                blank=True, default=dict,
                help_text="OLake's advanced settings: max_discover_threads (streams inferred at once)",
            ),
        ),
    ]
