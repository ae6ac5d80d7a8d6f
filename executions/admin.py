"""The admin shows API tokens, their scopes and limits; it does not make or change them: a token is
printed once at creation (`manage.py create_ingest_token`) and only its hash is stored.

It edits the model price table: prices are added, never changed (a change is a new row with a later
effective date, so past attempts keep the price they ran at); a mistaken row may be deleted."""

from django.contrib import admin

from .models import IngestToken, ModelPrice


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ("model", "input_per_million", "output_per_million", "effective_from", "source")
    list_filter = ("model",)
    search_fields = ("model", "source")
    date_hierarchy = "effective_from"
    fields = ("model", "input_per_million", "output_per_million", "effective_from", "source", "created_at")

    def get_readonly_fields(self, request, obj=None):
        # A saved price stays what it was (ModelPrice.save refuses a change too): only its note moves.
        return (*ModelPrice.PRICED_FIELDS, "created_at") if obj is not None else ("created_at",)


@admin.register(IngestToken)
class IngestTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "scopes", "limits_shown", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scopes",)
    search_fields = ("name", "prefix", "plans", "execution_prefixes")
    fields = ("name", "prefix", "scopes", "limits_shown", "plans", "execution_prefixes",
              "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields

    @admin.display(description="limits")
    def limits_shown(self, token: IngestToken) -> str:
        limits = token.limits
        return f"only {limits.describe()}" if limits.limited else "none (every execution)"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Revoking (manage.py revoke_ingest_token) keeps the record of what the token was.
        return False
