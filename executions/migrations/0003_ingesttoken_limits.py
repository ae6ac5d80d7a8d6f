from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("executions", "0002_ingesttoken_scopes"),
    ]

    operations = [
        # Existing tokens have no limits: they keep writing (and reading) every execution.
        migrations.AddField(
            model_name="ingesttoken",
            name="plans",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="ingesttoken",
            name="execution_prefixes",
            field=models.TextField(blank=True, default=""),
        ),
    ]
