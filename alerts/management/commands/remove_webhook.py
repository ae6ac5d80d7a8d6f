from django.core.management.base import BaseCommand, CommandError

from alerts import services
from executions.errors import ServiceError


class Command(BaseCommand):
    help = "Remove an alert channel with its rules, alerts and delivery log."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        try:
            services.channel_remove(name=name)
        except ServiceError as exc:
            raise CommandError(f"NAME: {exc.detail}") from exc
        self.stdout.write(f"removed {name}")
