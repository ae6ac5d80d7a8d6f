"""`manage.py check --deploy` also says when the settings are not in production mode: the
development defaults (a key in var/, loopback host names) are safe, but not a deployment."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_production_environment(app_configs, **kwargs):
    if settings.PRODUCTION:
        return []
    return [Warning(
        f"DJANGO_ENV is {settings.ENVIRONMENT!r}: the secret key and allowed hosts may come from "
        "development defaults",
        hint="Set DJANGO_ENV=production where the app is deployed.",
        id="mimir.W001",
    )]
