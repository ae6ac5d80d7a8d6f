"""Prices take effect at a UTC midnight (ModelPrice.clean, docs/pricing.md): a row saved before with
another moment is moved to the next UTC midnight, so that its price still never applies to an
attempt before the moment it named (a change is never retroactive); the attempts of the rest of that
day keep the price that was in force before it. Of rows of one model that land on the same midnight
the latest is kept, the one that was in force at that midnight; the others are deleted (they were in
force for part of a day only). The shipped rows (2000-01-01) are midnights already."""

from datetime import UTC, timedelta

from django.db import migrations, models


def _next_midnight(moment):
    utc = moment.astimezone(UTC)
    midnight = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == utc else midnight + timedelta(days=1)


def to_midnights(apps, schema_editor):
    price = apps.get_model("executions", "ModelPrice")
    kept: dict[tuple[str, object], object] = {}
    # Latest first: the first row seen for a (model, midnight) is the one kept.
    for row in price.objects.order_by("model", "-effective_from"):
        key = (row.model, _next_midnight(row.effective_from))
        if key in kept:
            row.delete()
        else:
            kept[key] = row
    for (_, midnight), row in kept.items():
        if row.effective_from != midnight:
            row.effective_from = midnight
            row.save(update_fields=["effective_from"])


class Migration(migrations.Migration):

    dependencies = [
        ("executions", "0005_default_model_prices"),
    ]

    operations = [
        migrations.RunPython(to_midnights, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="modelprice",
            name="effective_from",
            field=models.DateTimeField(
                help_text="a UTC midnight (00:00:00 UTC): attempts completed on or after that day cost this"
            ),
        ),
    ]
