from django.core.management.base import BaseCommand, CommandError

from executions import services
from executions.errors import ServiceError
from executions.models import TOKEN_SCOPES


class Command(BaseCommand):
    help = "Create an API token and print it (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a name for the token, e.g. the orchestrator that uses it")
        parser.add_argument(
            "--scope", default="write",
            help=f"what the token may do, comma-separated: {', '.join(TOKEN_SCOPES)} "
            "(default: write, i.e. ingest only)",
        )

    def handle(self, *args, name: str, scope: str, **options):
        try:
            raw = services.ingest_token_create(name=name, scopes=services.token_scopes_parse(scope))
        except ServiceError as exc:
            raise CommandError(exc.detail) from exc
        # Only the token on stdout, so that `TOKEN=$(manage.py create_ingest_token x)` works.
        self.stdout.write(raw)
