from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class YunqiaoConfig(AppConfig):
    """Project-wide glue: groups, health, logging, the process supervisor."""

    name = "config"
    label = "yunqiao"
    verbose_name = _("云桥")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from config import logging as yunqiao_logging

        yunqiao_logging.connect_task_context()
        # Groups and grants are (re)applied after migrate and after a test flush. Permissions of
        # an app exist only once its own post_migrate ran, so act on the last app's signal.
        post_migrate.connect(_ensure_groups_after_last_app, dispatch_uid="yunqiao-ensure-groups")


def _ensure_groups_after_last_app(sender, **kwargs) -> None:
    from django.apps import apps

    from config.permissions import ensure_groups

    # Django sends post_migrate only for apps with a models module: an app without models
    # (erpjobs) installed last would otherwise leave every group without its permissions.
    with_models = [app for app in apps.get_app_configs() if app.models_module is not None]
    if sender is with_models[-1]:
        ensure_groups()
