from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("executions", "0001_initial"),
    ]

    operations = [
        # Existing tokens were ingest tokens: they keep writing, and only writing.
        migrations.AddField(
            model_name="ingesttoken",
            name="scopes",
            field=models.CharField(default="write", max_length=100),
        ),
    ]
