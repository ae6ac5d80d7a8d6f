from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from executions import metrics

        from . import selectors

        # Read at every scrape of /metrics, in whichever process answers it.
        metrics.set_alert_queue_depth(selectors.queue_depth)
