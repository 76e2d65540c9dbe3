"""Workload alerts: people over their weekly hours or open tasks."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting.lifecycle import Firing
from alerts.alerting.messages import in_site_language
from alerts.alerting.models import Severity
from alerts.alerting.thresholds import threshold_value
from projects.alert_jobs.common import (
    Declared,
    declare_job_rule,
    evaluate,
    local_today,
    open_tasks,
)
from projects.models import Timesheet

# --- 负荷超限预警 -------------------------------------------------------------------------------

WORKLOAD = Declared(
    "check_workload_overload_alerts", "负荷超限预警", "0 11 * * *", Severity.WARNING, "重新分配任务或调整计划"
)


def overloaded_people(*, now: datetime) -> list[Firing]:
    """People whose hours of the last 7 days, or whose unfinished tasks due in the next 7 days,
    exceed their capacity (two aggregate queries)."""
    today = local_today(now)
    max_hours = Decimal(str(threshold_value("workload_weekly_hours")))
    max_tasks = int(threshold_value("workload_open_tasks"))
    hours = dict(
        Timesheet.objects.filter(
            work_date__gt=today - timedelta(days=7), work_date__lte=today, project__deleted_at__isnull=True
        )
        .values("person")
        .annotate(total=Sum("hours"))
        .filter(total__gt=max_hours)
        .values_list("person", "total")
    )
    tasks = dict(
        open_tasks()
        .filter(due_date__gte=today, due_date__lt=today + timedelta(days=7))
        .exclude(assignee="")
        .values("assignee")
        .annotate(count=Count("pk"))
        .filter(count__gt=max_tasks)
        .values_list("assignee", "count")
    )
    firing = []
    for person in sorted(set(hours) | set(tasks)):
        worked, load = hours.get(person, Decimal(0)), tasks.get(person, 0)
        firing.append(
            Firing(
                key=person,
                title=_("%(person)s 负荷超限：最近 7 天工时 %(hours)s，未来 7 天到期任务 %(tasks)s 个")
                % {"person": person, "hours": worked, "tasks": load},
                labels={"person": person},
                severity=Severity.CRITICAL if worked > 2 * max_hours or load > 2 * max_tasks else Severity.WARNING,
            )
        )
    return firing


@declare_job_rule(
    WORKLOAD,
    reads=["projects_project", "projects_task", "projects_timesheet"],
    description="人员最近 7 天工时或未来 7 天到期的未完成任务超过上限",
)
@in_site_language
def check_workload_overload_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(WORKLOAD.id, overloaded_people(now=now), now)


def declared_default(key: str) -> float:
    """A threshold's declared default (what staff return to)."""
    from alerts.alerting.thresholds import SPECS

    return SPECS[key].default
