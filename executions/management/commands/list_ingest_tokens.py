from django.core.management.base import BaseCommand

from executions.models import IngestToken


class Command(BaseCommand):
    help = "List API tokens (names, prefixes, scopes and limits; the tokens themselves are not stored)."

    def handle(self, *args, **options):
        for token in IngestToken.objects.all():
            state = "active" if token.is_active else f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            limits = token.limits
            limited = f"limited to {limits.describe()}" if limits.limited else "every execution"
            self.stdout.write(f"{token.name}\t{token.prefix}…\t{token.scopes}\t{state}\tlast used {used}\t{limited}")
