from django.db import migrations


def load(apps, schema_editor):
    from accounts.taxonomy import sync_taxonomy

    sync_taxonomy(apps)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
