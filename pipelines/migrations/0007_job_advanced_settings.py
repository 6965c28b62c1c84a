"""Jobs (and their history) keep OLake's advanced settings (max_discover_threads)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pipelines", "0006_history_of_connectors_and_jobs")]

    operations = [
        migrations.AddField(
            model_name="job",
            name="advanced_settings",
            field=models.JSONField(
                blank=True, default=dict,
                help_text="OLake's advanced settings: max_discover_threads (streams inferred at once)",
            ),
        ),
        migrations.AddField(  # and their history
            model_name="historicaljob",
            name="advanced_settings",
            field=models.JSONField(
                blank=True, default=dict,
                help_text="OLake's advanced settings: max_discover_threads (streams inferred at once)",
            ),
        ),
    ]
