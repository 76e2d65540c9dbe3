"""Schedule alerts: milestones due, overdue or at risk; tasks delayed or due soon."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting.lifecycle import Firing
from alerts.alerting.messages import in_site_language
from alerts.alerting.models import Severity
from alerts.alerting.thresholds import threshold_value
from projects.alert_jobs.common import (
    ACTIVE_STATUSES,
    PROJECT_FIELDS,
    Declared,
    alert_key,
    declare_job_rule,
    evaluate,
    local_today,
    open_tasks,
    project_labels,
    project_link,
    severity_by_lateness,
    threshold_days,
)
from projects.models import Milestone, Task

# --- 里程碑预警 ---------------------------------------------------------------------------------

MILESTONE_ALERTS = Declared(
    "check_milestone_alerts", "里程碑预警", "0 8 * * *", Severity.WARNING, "与项目负责人确认里程碑计划或更新实际完成"
)


def due_milestones(*, now: datetime) -> list[Firing]:
    """Pending milestones of active projects due within N days (info) or overdue (by lateness)."""
    today = local_today(now)
    by_lateness = severity_by_lateness()
    horizon = today + timedelta(days=threshold_days("milestone_due_within_days"))
    rows = Milestone.objects.filter(
        status=Milestone.Status.PENDING,
        planned_date__lte=horizon,
        project__deleted_at__isnull=True,
        project__status__in=ACTIVE_STATUSES,
    ).values("remote_id", "name", "planned_date", *PROJECT_FIELDS)
    firing = []
    for row in rows:
        late = (today - row["planned_date"]).days
        if late > 0:
            title = _("项目 %(project)s 里程碑“%(name)s”已逾期 %(days)s 天") % {
                "project": row["project__remote_id"],
                "name": row["name"],
                "days": late,
            }
            severity = by_lateness(late)
        else:
            title = _("项目 %(project)s 里程碑“%(name)s”将于 %(date)s 到期") % {
                "project": row["project__remote_id"],
                "name": row["name"],
                "date": row["planned_date"].isoformat(),
            }
            severity = Severity.INFO
        firing.append(
            Firing(
                key=alert_key(row, row["remote_id"]),
                title=title,
                labels=project_labels(row, milestone=row["remote_id"]),
                link=project_link(row),
                severity=severity,
            )
        )
    return firing


@declare_job_rule(
    MILESTONE_ALERTS,
    reads=["projects_project", "projects_milestone"],
    description="未完成的里程碑在 N 天内到期或已逾期时预警（逾期越久越严重）",
)
@in_site_language
def check_milestone_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(MILESTONE_ALERTS.id, due_milestones(now=now), now)


# --- 里程碑风险预警 -----------------------------------------------------------------------------

MILESTONE_RISK = Declared(
    "check_milestone_risk_alerts",
    "里程碑风险预警",
    "10 8 * * *",
    Severity.WARNING,
    "检查该里程碑期间的任务，调配人手或调整计划",
)


def milestones_at_risk(*, now: datetime) -> list[Firing]:
    """Pending milestones in their window (from the previous milestone, or the project's start, to
    their planned date) whose tasks due in that window are behind the share of the window elapsed
    by more than the gap threshold. A window without tasks is not judged."""
    today = local_today(now)
    gap = threshold_value("milestone_risk_gap_pct")
    live = {"project__deleted_at__isnull": True, "project__status__in": ACTIVE_STATUSES}
    milestones = Milestone.objects.filter(**live).order_by("project_id", "position")
    milestone_rows = list(
        milestones.values("remote_id", "name", "status", "planned_date", "project__planned_start", *PROJECT_FIELDS)
    )
    tasks_by_project: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for project_id, due, progress in Task.objects.filter(due_date__isnull=False, **live).values_list(
        "project_id", "due_date", "progress"
    ):
        tasks_by_project[project_id].append((due, progress))
    firing = []
    previous: dict[int, date | None] = {}
    for row in milestone_rows:
        project = row["project_id"]
        start = previous.get(project, row["project__planned_start"])
        end = row["planned_date"]
        previous[project] = end
        if row["status"] != Milestone.Status.PENDING or start is None or end is None or not start < today <= end:
            continue
        in_window = [progress for due, progress in tasks_by_project[project] if start < due <= end]
        if not in_window:
            continue
        expected = 100 * (today - start).days / (end - start).days
        actual = sum(in_window) / len(in_window)
        behind = expected - actual
        if behind <= gap:
            continue
        firing.append(
            Firing(
                key=alert_key(row, row["remote_id"]),
                title=_("项目 %(project)s 里程碑“%(name)s”有风险：任务进度 %(actual)s%%，时间已过 %(expected)s%%")
                % {
                    "project": row["project__remote_id"],
                    "name": row["name"],
                    "actual": round(actual),
                    "expected": round(expected),
                },
                labels=project_labels(row, milestone=row["remote_id"]),
                link=project_link(row),
                severity=Severity.CRITICAL if behind > 2 * gap else Severity.WARNING,
            )
        )
    return firing


@declare_job_rule(
    MILESTONE_RISK,
    reads=["projects_project", "projects_milestone", "projects_task"],
    description="里程碑期间到期任务的平均进度落后于已过时间比例超过阈值时预警",
)
@in_site_language
def check_milestone_risk_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(MILESTONE_RISK.id, milestones_at_risk(now=now), now)


# --- 任务延期预警 / 任务到期提醒 ---------------------------------------------------------------

TASK_DELAY = Declared(
    "check_task_delay_alerts", "任务延期预警", "0 * * * *", Severity.WARNING, "督促负责人完成任务或调整截止日期"
)
TASK_REMINDER = Declared(
    "check_task_deadline_reminder", "任务到期提醒", "0 * * * *", Severity.INFO, "请在截止前完成任务"
)

TASK_FIELDS = ("remote_id", "name", "assignee", "due_date", *PROJECT_FIELDS)


def delayed_tasks(*, now: datetime) -> list[Firing]:
    """Unfinished tasks of active projects more than the grace days past their due date."""
    today = local_today(now)
    by_lateness = severity_by_lateness()
    last_due = today - timedelta(days=threshold_days("task_delay_grace_days") + 1)
    firing = []
    for row in open_tasks().filter(due_date__lte=last_due).values(*TASK_FIELDS):
        late = (today - row["due_date"]).days
        firing.append(
            Firing(
                key=alert_key(row, row["remote_id"]),
                title=_("项目 %(project)s 任务“%(name)s”（%(assignee)s）已延期 %(days)s 天")
                % {
                    "project": row["project__remote_id"],
                    "name": row["name"],
                    "assignee": row["assignee"],
                    "days": late,
                },
                labels=project_labels(row, assignee=row["assignee"]),
                link=project_link(row),
                severity=by_lateness(late),
            )
        )
    return firing


def tasks_due_soon(*, now: datetime) -> list[Firing]:
    """Unfinished tasks whose due day ends within the reminder hours (a task is due by the end of
    its due date, local time); one alert per task, resolved once done or past due."""
    window = timedelta(hours=threshold_value("task_reminder_hours"))
    today = local_today(now)
    last_day = timezone.localtime(now + window).date()
    firing = []
    for row in open_tasks().filter(due_date__gte=today, due_date__lte=last_day).values(*TASK_FIELDS):
        ends = timezone.make_aware(datetime.combine(row["due_date"] + timedelta(days=1), time.min))
        if ends - now > window:
            continue
        firing.append(
            Firing(
                key=alert_key(row, row["remote_id"]),
                title=_("%(assignee)s：项目 %(project)s 任务“%(name)s”将于 %(date)s 到期")
                % {
                    "assignee": row["assignee"],
                    "project": row["project__remote_id"],
                    "name": row["name"],
                    "date": row["due_date"].isoformat(),
                },
                labels=project_labels(row, assignee=row["assignee"]),
                link=project_link(row),
            )
        )
    return firing


@declare_job_rule(TASK_DELAY, reads=["projects_project", "projects_task"], description="超过截止日期仍未完成的任务")
@in_site_language
def check_task_delay_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(TASK_DELAY.id, delayed_tasks(now=now), now)


@declare_job_rule(
    TASK_REMINDER,
    reads=["projects_project", "projects_task"],
    description="24 小时内到期的未完成任务提醒负责人（每个任务一次）",
    category="检查",
)
@in_site_language
def check_task_deadline_reminder(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(TASK_REMINDER.id, tasks_due_soon(now=now), now)
