import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import IntegrityError


class Command(BaseCommand):
    help = (
        "On an empty user table, create a superuser with a generated password and print its "
        "credentials, this once (only the password's hash is stored). Does nothing when any user exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin", help="default: %(default)s")
        parser.add_argument("--url", help="where the dashboard is served, to print with the credentials")

    def handle(self, *args, username: str, url: str | None, **options):
        users = get_user_model()
        password = secrets.token_urlsafe(18)  # 144 random bits
        if users.objects.exists():
            if options["verbosity"] > 1:
                self.stdout.write("Users exist already: no first admin created.")
            return
        # One INSERT on its own, no read-then-write transaction: SQLite could not wait for another
        # writer (the demo simulator, gunicorn) to upgrade such a transaction's lock.
        try:
            users.objects.create_superuser(username=username, email="", password=password)
        except IntegrityError:  # a concurrent run created that user meanwhile
            return
        base = (url or "").rstrip("/")
        lines = [
            "",
            "First sign-in (this password is shown only now; it is stored hashed):",
            *([f"  URL:      {base}/accounts/login/"] if url else []),
            f"  user:     {username}",
            f"  password: {password}",
            f"  (change it at {base}/admin/password_change/, add users at {base}/admin/auth/user/)",
            "",
        ]
        self.stdout.write("\n".join(lines))
