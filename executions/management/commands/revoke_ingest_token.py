from django.core.management.base import BaseCommand, CommandError

from executions import services
from executions.errors import ServiceError


class Command(BaseCommand):
    help = "Revoke an ingest API token by name; requests using it are refused from now on."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name: str, **options):
        try:
            services.ingest_token_revoke(name=name)
        except ServiceError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"revoked {name}")
