from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("定时任务与预警")
    # Staff see runs and counters, edit job schedules (cron, enabled) and start runs by hand
    # (`run_job`, checked by `services.may_start_runs`). Runs are facts written only by the
    # scheduler; jobs come from code and are never added by hand. Staff also read the
    # notification outbox and send dead notifications again (change = resend).
    group_permissions = {
        "staff": [
            "view_jobrun",
            "view_jobstats",
            "view_scheduledjob",
            "change_scheduledjob",
            "run_job",
            "view_notification",
            "change_notification",
        ]
    }

    def ready(self):
        from alerts import prometheus, registry
        from alerts.alerting import rules

        # Every process (web, worker, management command) sees the same complete registry, and
        # every app's metrics and alert rules.
        registry.autodiscover()
        prometheus.autodiscover()
        rules.autodiscover()
        post_migrate.connect(register_job_schedules, sender=self, dispatch_uid="alerts.register_job_schedules")
        from django_q.signals import post_spawn

        post_spawn.connect(start_alerting_ticker, dispatch_uid="alerts.start_alerting_ticker")


def start_alerting_ticker(sender=None, **kwargs):
    """django-q2 `post_spawn`, in every worker process: the ticker that sends each message group
    at its window's end (alerts.alerting.ticker); several per cluster and host is fine."""
    from django_q.conf import Conf

    from alerts.alerting.ticker import keep_ticking

    # django-q2's sync mode (tests, Q_SYNC) runs each task through a "worker" in the caller's
    # process: no ticker there, its clock and thread would race the caller's.
    if settings.ALERT_TICK_S > 0 and not Conf.SYNC:
        keep_ticking()


def register_job_schedules(sender, using="default", verbosity=1, **kwargs):
    """After every migrate, bring django-q2 schedules in line with the job registry."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from alerts.models import JobRun, ScheduledJob

    if using != DEFAULT_DB_ALIAS:
        return
    tables = set(connections[using].introspection.table_names())
    if not {ScheduledJob._meta.db_table, JobRun._meta.db_table} <= tables:
        return  # migrated backwards past our tables
    from alerts.services import sync_schedules

    report = sync_schedules()
    if verbosity >= 2:
        print(f"  job schedules: {report.as_dict()}")
