from django.core.management.base import BaseCommand, CommandError

from executions import services
from executions.errors import ServiceError
from executions.models import TOKEN_SCOPES


class Command(BaseCommand):
    help = (
        "Create an API token and print it (only its hash is stored). A token limited with --plans "
        "and/or --execution-prefixes writes and reads only executions within its limits (403 outside)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="a name for the token, e.g. the orchestrator that uses it")
        parser.add_argument(
            "--scope", default="write",
            help=f"what the token may do, comma-separated: {', '.join(TOKEN_SCOPES)} "
            "(default: write, i.e. ingest only)",
        )
        parser.add_argument(
            "--plans", metavar="PLAN,...",
            help="only executions of these plan ids (comma-separated): it starts executions of them and "
            "then posts their task results and finish, PUTs only these plans, and reads only their "
            "executions. Its task results and finish need the start first (docs/design.md says why)",
        )
        parser.add_argument(
            "--execution-prefixes", metavar="PREFIX,...",
            help="only executions whose id starts with one of these (comma-separated); it may not PUT "
            "plans unless --plans names them. With --plans too, an execution must be within both",
        )

    def handle(self, *args, name: str, scope: str, plans: str | None, execution_prefixes: str | None, **options):
        try:
            raw = services.ingest_token_create(
                name=name,
                scopes=services.token_scopes_parse(scope),
                plans=services.token_limits_parse(plans, field="plans") if plans is not None else None,
                execution_prefixes=services.token_limits_parse(execution_prefixes, field="execution_prefixes")
                if execution_prefixes is not None else None,
            )
        except ServiceError as exc:
            raise CommandError(exc.detail) from exc
        # Only the token on stdout, so that `TOKEN=$(manage.py create_ingest_token x)` works.
        self.stdout.write(raw)
