from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("定时任务与预警")

    def ready(self):
        from alerts import registry

        # Every process (web, worker, management command) sees the same complete registry.
        registry.autodiscover()
