"""004 says "use olake as project id": that project exists in every installation."""

from django.db import migrations


def create_olake(apps, schema_editor):
    Project = apps.get_model("accounts", "Project")
    Project.objects.get_or_create(id="olake", defaults={"name": "OLake", "description": "The default project of the OLake server API."})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_olake, migrations.RunPython.noop)]
