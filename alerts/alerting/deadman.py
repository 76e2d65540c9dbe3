"""The dead-man's switch of every scheduled job, as two implicit rules.

`job_failed`: the job's latest finished run (skips aside) failed or timed out; resolved by its
next success. `job_not_running`: the job has an enabled schedule, a fire time passed more than its
SLA plus a grace ago, and no run succeeded since that fire time (the cluster is down, the
schedule is stuck, or every run fails). Both are evaluated by `check_system_alerts` (declared
through `alerts/alert_rules.py`, like an app's rules); if the whole
cluster is down nothing in it runs, which an outside monitor of `/metrics` has to catch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from croniter import croniter
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts import registry
from alerts.alerting.lifecycle import Firing
from alerts.alerting.messages import absolute_url
from alerts.alerting.models import Severity
from alerts.alerting.rules import declare_rule
from alerts.alerting.thresholds import threshold_value
from alerts.models import JobRun, JobStats, ScheduledJob

JOB_FAILED = declare_rule(
    id="job_failed",
    name=gettext_lazy("定时任务失败"),
    severity=Severity.WARNING,
    category="检查",
    advice=gettext_lazy("打开定时任务页面查看错误，修复后点“立即运行”；成功一次即自动恢复"),
    reads=["alerts_jobrun"],
    evaluate=lambda now: failed_jobs(),
)
JOB_NOT_RUNNING = declare_rule(
    id="job_not_running",
    name=gettext_lazy("定时任务未按时成功"),
    severity=Severity.CRITICAL,
    category="检查",
    advice=gettext_lazy("检查工作集群（qcluster）是否在运行、任务是否被停用或一直失败"),
    reads=["alerts_jobrun", "alerts_jobstats", "alerts_scheduledjob"],
    evaluate=lambda now: jobs_not_running(now=now),
)


def _job_link(job_id: str) -> str:
    return absolute_url(reverse("scheduler")) + f"?job={job_id}"


def failed_jobs() -> list[Firing]:
    """Jobs whose latest finished, non-skipped run failed or timed out."""
    latest = (
        JobRun.objects.filter(status__in=[JobRun.Status.SUCCESS, JobRun.Status.FAILED, JobRun.Status.TIMEOUT])
        .annotate(
            recency=Window(RowNumber(), partition_by=[F("job_id")], order_by=[F("finished_at").desc(), F("id").desc()])
        )
        .filter(recency=1)
    )
    names = {spec.id: spec.name for spec in registry.all_jobs()}
    firing = []
    # The status test stays out of the query: Django would apply it before the window, ranking
    # only the failed runs.
    for run in latest.only("pk", "job_id", "status", "error"):
        if run.status == JobRun.Status.SUCCESS:
            continue
        name = names.get(run.job_id, run.job_id)
        firing.append(
            Firing(
                key=run.job_id,
                title=_("任务“%(name)s”运行%(status)s") % {"name": name, "status": run.get_status_display()},
                detail=run.error[:1000],
                labels={"job": run.job_id, "run": str(run.pk)},
                link=_job_link(run.job_id),
            )
        )
    return firing


def jobs_not_running(now: datetime | None = None) -> list[Firing]:
    now = now or timezone.now()
    grace = timedelta(seconds=threshold_value("job_not_running_grace_s"))
    stats = dict(JobStats.objects.values_list("job_id", "last_success_at"))
    firing = []
    for row in ScheduledJob.objects.select_related("schedule").filter(in_registry=True):
        if not row.enabled or not registry.is_registered(row.job_id):
            continue
        spec = registry.get_job(row.job_id)
        deadline = now - grace - timedelta(seconds=spec.sla_s)
        expected = croniter(row.cron, timezone.localtime(deadline)).get_prev(datetime)
        # A job registered or re-timed after that fire time was not expected to have run yet.
        since = max(value for value in (row.registered_at, row.edited_at) if value is not None)
        if expected <= since:
            continue
        last_success = stats.get(row.job_id)
        if last_success is not None and last_success >= expected:
            continue
        firing.append(
            Firing(
                key=row.job_id,
                title=_("任务“%(name)s”自 %(time)s 起未成功运行")
                % {"name": spec.name, "time": timezone.localtime(expected).strftime("%m-%d %H:%M")},
                detail=_("上次成功：%(time)s")
                % {"time": timezone.localtime(last_success).strftime("%Y-%m-%d %H:%M") if last_success else _("从未")},
                labels={"job": row.job_id},
                link=_job_link(row.job_id),
            )
        )
    return firing
