from django.core.management.base import BaseCommand, CommandError

from alerts import services
from executions.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Give a channel a new signing secret and print it, and nothing else. The old one keeps "
        "signing beside it (a second v1= in X-Mimir-Signature) for --grace-hours (default 24; 0: no more)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--grace-hours", type=float, default=24.0)

    def handle(self, *args, name, grace_hours, **options):
        try:
            secret = services.channel_secret_rotate(name=name, grace_hours=grace_hours)
        except ServiceError as exc:
            field = exc.errors[0]["field"] if exc.errors else ""
            raise CommandError(f"{'--grace-hours' if field == 'grace_hours' else 'NAME'}: {exc.detail}") from exc
        self.stdout.write(secret)
