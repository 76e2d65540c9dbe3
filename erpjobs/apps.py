from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErpJobsConfig(AppConfig):
    """The business jobs that read ERP data synced by `sync` (shortage, delivery, production,
    receivables …): one `@job` plus one set-based query each, alerts through the alerting core."""

    name = "erpjobs"
    verbose_name = _("ERP 业务预警")
    group_permissions = {"staff": ["view_dailyreport"]}
