"""The shipped price table: list prices (USD per 1M tokens, standard tier: no batch, cache or
long-prompt rates) of common models, from their vendors' pricing pages as recorded in
docs/pricing.md. They are rows like any other: edit them in /admin/ (add a dated row for a change).

Effective from 2000-01-01 so that attempts recorded before this table existed are priced too."""

from datetime import UTC, datetime
from decimal import Decimal

from django.db import migrations

SINCE = datetime(2000, 1, 1, tzinfo=UTC)
OPENAI = "openai.com/api/pricing (list price, standard tier)"
ANTHROPIC = "anthropic.com/pricing (list price)"
GOOGLE = "ai.google.dev/gemini-api/docs/pricing (paid tier, prompts up to 200k tokens)"

# (model, input, output, source)
PRICES = (
    ("gpt-5", "1.25", "10.00", OPENAI),
    ("gpt-5-mini", "0.25", "2.00", OPENAI),
    ("gpt-5-nano", "0.05", "0.40", OPENAI),
    ("gpt-4.1", "2.00", "8.00", OPENAI),
    ("gpt-4.1-mini", "0.40", "1.60", OPENAI),
    ("gpt-4.1-nano", "0.10", "0.40", OPENAI),
    ("gpt-4o", "2.50", "10.00", OPENAI),
    ("gpt-4o-mini", "0.15", "0.60", OPENAI),
    ("o3", "2.00", "8.00", OPENAI),
    ("o4-mini", "1.10", "4.40", OPENAI),
    ("claude-opus-4-5", "5.00", "25.00", ANTHROPIC),
    ("claude-opus-4-1", "15.00", "75.00", ANTHROPIC),
    ("claude-sonnet-4-5", "3.00", "15.00", ANTHROPIC),
    ("claude-sonnet-4", "3.00", "15.00", ANTHROPIC),
    ("claude-haiku-4-5", "1.00", "5.00", ANTHROPIC),
    ("claude-3-5-haiku", "0.80", "4.00", ANTHROPIC),
    ("gemini-2.5-pro", "1.25", "10.00", GOOGLE),
    ("gemini-2.5-flash", "0.30", "2.50", GOOGLE),
)


def add_prices(apps, schema_editor):
    price = apps.get_model("executions", "ModelPrice")
    for model, input_price, output_price, source in PRICES:
        # A row already there (same model and moment) is kept as the user may have meant it.
        price.objects.get_or_create(
            model=model, effective_from=SINCE,
            defaults={"input_per_million": Decimal(input_price), "output_per_million": Decimal(output_price),
                      "source": source},
        )


def remove_prices(apps, schema_editor):
    price = apps.get_model("executions", "ModelPrice")
    price.objects.filter(effective_from=SINCE, model__in=[p[0] for p in PRICES]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("executions", "0004_modelprice"),
    ]

    operations = [
        migrations.RunPython(add_prices, remove_prices),
    ]
