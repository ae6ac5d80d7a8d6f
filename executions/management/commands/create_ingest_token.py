from django.core.management.base import BaseCommand, CommandError

from executions import services
from executions.errors import ServiceError


class Command(BaseCommand):
    help = "Create an ingest API token and print it (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a name for the token, e.g. the orchestrator that uses it")

    def handle(self, *args, name: str, **options):
        try:
            raw = services.ingest_token_create(name=name)
        except ServiceError as exc:
            raise CommandError(exc.detail) from exc
        # Only the token on stdout, so that `TOKEN=$(manage.py create_ingest_token x)` works.
        self.stdout.write(raw)
