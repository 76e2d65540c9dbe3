from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class YunqiaoConfig(AppConfig):
    """Project-wide glue: groups, health, logging, the process supervisor."""

    name = "config"
    label = "yunqiao"
    verbose_name = _("云桥")

    def ready(self) -> None:
        from config import logging as yunqiao_logging

        yunqiao_logging.connect_task_context()
