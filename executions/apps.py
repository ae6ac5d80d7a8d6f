from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "executions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # django-neomodel does not import with neomodel 7, so configure neomodel here. Only the URL
        # is set: the driver is created lazily on first query, after gunicorn has forked.
        import neomodel
        from django.conf import settings

        from mimir_dashboard import checks  # noqa: F401  (registers the deploy checks)

        config = neomodel.get_config()
        config.database_url = settings.NEO4J_BOLT_URL
        # Fail fast when Neo4j is down so the API can answer 503 instead of hanging a worker.
        config.connection_timeout = 5.0
        config.connection_acquisition_timeout = 15.0
