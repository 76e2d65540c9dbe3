"""The project-side business jobs of the seed (issue 14) that raise alerts: milestones, tasks,
issues, costs, payments and workload, read from the project cache.

Each job is one `@job` declaration (the seed's id, Chinese name and time) and one rule with the
same id; its body runs one or two set-based queries over the cache, builds the `Firing` of every
key still true and hands the whole set to `evaluate_rule`, which raises new keys, refreshes known
ones (dedupe) and resolves the ones gone. Thresholds are declared here and read at run time, so
staff change them in the admin (validated) without a deploy.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.alerting.lifecycle import Firing, evaluate_rule
from alerts.alerting.messages import absolute_url, in_site_language
from alerts.alerting.models import Severity
from alerts.alerting.rules import declare_rule
from alerts.alerting.thresholds import ThresholdSpec, declare_threshold, threshold_value
from alerts.registry import job
from projects.models import Milestone, PaymentPlan, ProjectIssue, ProjectStatus, Task, Timesheet

# Projects whose schedule still matters: finished or cancelled ones raise no schedule alerts.
ACTIVE_STATUSES = (ProjectStatus.NOT_STARTED, ProjectStatus.IN_PROGRESS, ProjectStatus.PAUSED)
PROJECT_FIELDS = (
    "project_id",
    "project__source",
    "project__remote_id",
    "project__customer_name",
    "project__owner_name",
)
CACHE_TABLES = ["projects_project", "projects_milestone", "projects_task", "projects_projectissue"]
ISSUE_SEVERITIES = ("critical", "high", "medium", "low")
SEVERITY_LABELS = ("严重", "高", "中", "低")


def _thresholds(*specs: ThresholdSpec) -> None:
    for spec in specs:
        declare_threshold(spec)


_thresholds(
    ThresholdSpec(
        "project_late_critical_days", gettext_lazy("项目预警：逾期多少天起为严重"), gettext_lazy("天"), 14, 1, 365
    ),
    ThresholdSpec(
        "milestone_due_within_days", gettext_lazy("里程碑预警：提前多少天提醒"), gettext_lazy("天"), 7, 0, 90
    ),
    ThresholdSpec(
        "milestone_risk_gap_pct", gettext_lazy("里程碑风险：任务进度落后时间进度多少个百分点"), "%", 20, 1, 100
    ),
    ThresholdSpec(
        "task_delay_grace_days", gettext_lazy("任务延期：超过截止日期多少天后预警"), gettext_lazy("天"), 0, 0, 60
    ),
    ThresholdSpec(
        "task_reminder_hours", gettext_lazy("任务到期提醒：截止前多少小时提醒"), gettext_lazy("小时"), 24, 1, 168
    ),
    ThresholdSpec(
        "issue_overdue_grace_hours",
        gettext_lazy("问题逾期：超过应解决时间多少小时后预警"),
        gettext_lazy("小时"),
        0,
        0,
        720,
    ),
    ThresholdSpec(
        "blocking_issue_min_age_hours", gettext_lazy("阻塞问题：打开多少小时后预警"), gettext_lazy("小时"), 0, 0, 168
    ),
    *(
        ThresholdSpec(
            f"issue_response_sla_{severity}_hours",
            f"问题响应时限（{label}）",
            gettext_lazy("小时"),
            default,
            1,
            720,
        )
        for severity, label, default in zip(ISSUE_SEVERITIES, SEVERITY_LABELS, (2, 4, 24, 72), strict=True)
    ),
    *(
        ThresholdSpec(
            f"issue_resolution_sla_{severity}_hours",
            f"问题解决时限（{label}）",
            gettext_lazy("小时"),
            default,
            1,
            2160,
        )
        for severity, label, default in zip(ISSUE_SEVERITIES, SEVERITY_LABELS, (24, 72, 168, 336), strict=True)
    ),
    ThresholdSpec("cost_overrun_tolerance_pct", gettext_lazy("成本超支：允许超出的比例"), "%", 10, 0, 200),
    ThresholdSpec("payment_due_within_days", gettext_lazy("收款提醒：提前多少天提醒"), gettext_lazy("天"), 7, 0, 90),
    ThresholdSpec(
        "workload_weekly_hours", gettext_lazy("负荷超限：每人最近 7 天工时上限"), gettext_lazy("小时"), 45, 1, 168
    ),
    ThresholdSpec(
        "milestone_payment_grace_days",
        gettext_lazy("收款计划调整：里程碑逾期多少天后顺延收款日期"),
        gettext_lazy("天"),
        0,
        0,
        60,
    ),
    ThresholdSpec("workload_open_tasks", gettext_lazy("负荷超限：每人未来 7 天到期的未完成任务上限"), "", 8, 1, 200),
)


def _days(key: str) -> int:
    return int(threshold_value(key))


def _labels(row: dict, **extra) -> dict:
    return {
        "project": row["project__remote_id"],
        "customer": row["project__customer_name"],
        "owner": row["project__owner_name"],
        **extra,
    }


def _project_link(row: dict) -> str:
    return absolute_url(reverse("admin:projects_project_change", args=[row["project_id"]]))


def _key(row: dict, remote_id: str) -> str:
    # Remote ids are unique per source only.
    return f"{row['project__source']}:{remote_id}"


def _lateness_severity(days_late: int) -> str:
    return Severity.CRITICAL if days_late >= _days("project_late_critical_days") else Severity.WARNING


def _today(now: datetime) -> date:
    return timezone.localdate(now)


@dataclass(frozen=True)
class _Declared:
    """A job's id, name and seed time, declared once for both its `@job` and its rule."""

    id: str
    name: str
    cron: str
    severity: str
    advice: str


def _declare(spec: _Declared, *, reads: list[str], description: str, category: str = "预警"):
    declare_rule(
        id=spec.id,
        name=gettext_lazy(spec.name),
        severity=spec.severity,
        category=category,
        advice=gettext_lazy(spec.advice),
        job=spec.id,
    )
    return job(
        id=spec.id,
        name=spec.name,
        cron=spec.cron,
        category=category,
        risk="low",
        sla_s=300,
        reads=reads,
        writes=["alerts_alert"],
        description=description,
    )


def _run(rule: str, firing: list[Firing], now: datetime) -> dict:
    return evaluate_rule(rule=rule, firing=firing, now=now).as_dict()


# --- 里程碑预警 ---------------------------------------------------------------------------------

MILESTONE_ALERTS = _Declared(
    "check_milestone_alerts", "里程碑预警", "0 8 * * *", Severity.WARNING, "与项目负责人确认里程碑计划或更新实际完成"
)


def due_milestones(*, now: datetime) -> list[Firing]:
    """Pending milestones of active projects due within N days (info) or overdue (by lateness)."""
    today = _today(now)
    horizon = today + timedelta(days=_days("milestone_due_within_days"))
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
            severity = _lateness_severity(late)
        else:
            title = _("项目 %(project)s 里程碑“%(name)s”将于 %(date)s 到期") % {
                "project": row["project__remote_id"],
                "name": row["name"],
                "date": row["planned_date"].isoformat(),
            }
            severity = Severity.INFO
        firing.append(
            Firing(
                key=_key(row, row["remote_id"]),
                title=title,
                labels=_labels(row, milestone=row["remote_id"]),
                link=_project_link(row),
                severity=severity,
            )
        )
    return firing


@_declare(
    MILESTONE_ALERTS,
    reads=["projects_project", "projects_milestone"],
    description="未完成的里程碑在 N 天内到期或已逾期时预警（逾期越久越严重）",
)
@in_site_language
def check_milestone_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(MILESTONE_ALERTS.id, due_milestones(now=now), now)


# --- 里程碑风险预警 -----------------------------------------------------------------------------

MILESTONE_RISK = _Declared(
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
    today = _today(now)
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
                key=_key(row, row["remote_id"]),
                title=_("项目 %(project)s 里程碑“%(name)s”有风险：任务进度 %(actual)s%%，时间已过 %(expected)s%%")
                % {
                    "project": row["project__remote_id"],
                    "name": row["name"],
                    "actual": round(actual),
                    "expected": round(expected),
                },
                labels=_labels(row, milestone=row["remote_id"]),
                link=_project_link(row),
                severity=Severity.CRITICAL if behind > 2 * gap else Severity.WARNING,
            )
        )
    return firing


@_declare(
    MILESTONE_RISK,
    reads=["projects_project", "projects_milestone", "projects_task"],
    description="里程碑期间到期任务的平均进度落后于已过时间比例超过阈值时预警",
)
@in_site_language
def check_milestone_risk_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(MILESTONE_RISK.id, milestones_at_risk(now=now), now)


# --- 任务延期预警 / 任务到期提醒 ---------------------------------------------------------------

TASK_DELAY = _Declared(
    "check_task_delay_alerts", "任务延期预警", "0 * * * *", Severity.WARNING, "督促负责人完成任务或调整截止日期"
)
TASK_REMINDER = _Declared(
    "check_task_deadline_reminder", "任务到期提醒", "0 * * * *", Severity.INFO, "请在截止前完成任务"
)

TASK_FIELDS = ("remote_id", "name", "assignee", "due_date", *PROJECT_FIELDS)


def _open_tasks():
    return Task.objects.exclude(status=Task.Status.DONE).filter(
        project__deleted_at__isnull=True, project__status__in=ACTIVE_STATUSES
    )


def delayed_tasks(*, now: datetime) -> list[Firing]:
    """Unfinished tasks of active projects more than the grace days past their due date."""
    today = _today(now)
    last_due = today - timedelta(days=_days("task_delay_grace_days") + 1)
    firing = []
    for row in _open_tasks().filter(due_date__lte=last_due).values(*TASK_FIELDS):
        late = (today - row["due_date"]).days
        firing.append(
            Firing(
                key=_key(row, row["remote_id"]),
                title=_("项目 %(project)s 任务“%(name)s”（%(assignee)s）已延期 %(days)s 天")
                % {
                    "project": row["project__remote_id"],
                    "name": row["name"],
                    "assignee": row["assignee"],
                    "days": late,
                },
                labels=_labels(row, assignee=row["assignee"]),
                link=_project_link(row),
                severity=_lateness_severity(late),
            )
        )
    return firing


def tasks_due_soon(*, now: datetime) -> list[Firing]:
    """Unfinished tasks whose due day ends within the reminder hours (a task is due by the end of
    its due date, local time); one alert per task, resolved once done or past due."""
    window = timedelta(hours=threshold_value("task_reminder_hours"))
    today = _today(now)
    last_day = timezone.localtime(now + window).date()
    firing = []
    for row in _open_tasks().filter(due_date__gte=today, due_date__lte=last_day).values(*TASK_FIELDS):
        ends = timezone.make_aware(datetime.combine(row["due_date"] + timedelta(days=1), time.min))
        if ends - now > window:
            continue
        firing.append(
            Firing(
                key=_key(row, row["remote_id"]),
                title=_("%(assignee)s：项目 %(project)s 任务“%(name)s”将于 %(date)s 到期")
                % {
                    "assignee": row["assignee"],
                    "project": row["project__remote_id"],
                    "name": row["name"],
                    "date": row["due_date"].isoformat(),
                },
                labels=_labels(row, assignee=row["assignee"]),
                link=_project_link(row),
            )
        )
    return firing


@_declare(TASK_DELAY, reads=["projects_project", "projects_task"], description="超过截止日期仍未完成的任务")
@in_site_language
def check_task_delay_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(TASK_DELAY.id, delayed_tasks(now=now), now)


@_declare(
    TASK_REMINDER,
    reads=["projects_project", "projects_task"],
    description="24 小时内到期的未完成任务提醒负责人（每个任务一次）",
    category="检查",
)
@in_site_language
def check_task_deadline_reminder(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(TASK_REMINDER.id, tasks_due_soon(now=now), now)


# --- 问题：逾期、阻塞、响应超时、解决超时 -------------------------------------------------------

OVERDUE_ISSUES = _Declared(
    "check_overdue_issues", "问题逾期预警", "0 * * * *", Severity.WARNING, "督促解决问题或更新应解决时间"
)
BLOCKING_ISSUES = _Declared(
    "check_blocking_issues", "阻塞问题预警", "5 * * * *", Severity.CRITICAL, "立即协调资源解除阻塞"
)
TIMEOUT_ISSUES = _Declared(
    "check_timeout_issues", "问题超时升级", "0 1 * * *", Severity.WARNING, "尽快响应问题并记录响应时间"
)
ISSUE_ESCALATION = _Declared(
    "check_issue_timeout_escalation",
    "问题超时升级服务",
    "30 1 * * *",
    Severity.CRITICAL,
    "问题超过解决时限，请上级协调解决",
)

ISSUE_FIELDS = ("remote_id", "title", "severity", "opened_at", "due_at", *PROJECT_FIELDS)
ISSUE_READS = ["projects_project", "projects_projectissue"]


def _open_issues():
    return ProjectIssue.objects.filter(resolved_at__isnull=True, project__deleted_at__isnull=True).exclude(
        project__status=ProjectStatus.CANCELLED
    )


def _issue_firing(row: dict, title: str, severity: str) -> Firing:
    return Firing(
        key=_key(row, row["remote_id"]),
        title=title,
        labels=_labels(row, issue_severity=row["severity"]),
        link=_project_link(row),
        severity=severity,
    )


def overdue_issues(*, now: datetime) -> list[Firing]:
    """Unresolved issues more than the grace hours past their due time."""
    cutoff = now - timedelta(hours=threshold_value("issue_overdue_grace_hours"))
    firing = []
    for row in _open_issues().filter(due_at__lt=cutoff).values(*ISSUE_FIELDS):
        late = now - row["due_at"]
        severity = Severity.CRITICAL if row["severity"] == "critical" else _lateness_severity(late.days)
        title = _("项目 %(project)s 问题“%(title)s”已逾期 %(hours)s 小时") % {
            "project": row["project__remote_id"],
            "title": row["title"],
            "hours": int(late.total_seconds() // 3600),
        }
        firing.append(_issue_firing(row, title, severity))
    return firing


def blocking_issues(*, now: datetime) -> list[Firing]:
    """Open blocking issues (critical at once), once open for the minimum age."""
    cutoff = now - timedelta(hours=threshold_value("blocking_issue_min_age_hours"))
    rows = _open_issues().filter(blocking=True, opened_at__lte=cutoff).values(*ISSUE_FIELDS)
    return [
        _issue_firing(
            row,
            _("项目 %(project)s 有阻塞问题“%(title)s”未解决")
            % {"project": row["project__remote_id"], "title": row["title"]},
            Severity.CRITICAL,
        )
        for row in rows
    ]


def _past_sla(field: str, prefix: str, now: datetime) -> Q:
    """Issues opened longer ago than their severity's time limit (one OR per severity)."""
    condition = Q(pk__in=[])
    for severity in ISSUE_SEVERITIES:
        hours = threshold_value(f"{prefix}_{severity}_hours")
        condition |= Q(severity=severity, **{f"{field}__lt": now - timedelta(hours=hours)})
    return condition


def unanswered_issues(*, now: datetime) -> list[Firing]:
    """Unresolved issues nobody responded to within their severity's response time limit."""
    rows = _open_issues().filter(responded_at__isnull=True).filter(_past_sla("opened_at", "issue_response_sla", now))
    return [
        _issue_firing(
            row,
            _("项目 %(project)s 问题“%(title)s”超过响应时限未响应")
            % {"project": row["project__remote_id"], "title": row["title"]},
            Severity.CRITICAL if row["severity"] in ("critical", "high") else Severity.WARNING,
        )
        for row in rows.values(*ISSUE_FIELDS)
    ]


def issues_past_resolution_sla(*, now: datetime) -> list[Firing]:
    """Unresolved issues open longer than their severity's resolution time limit; raised critical
    so that the alerting escalation takes them up the contact chain until acknowledged."""
    rows = _open_issues().filter(_past_sla("opened_at", "issue_resolution_sla", now))
    return [
        _issue_firing(
            row,
            _("项目 %(project)s 问题“%(title)s”超过解决时限，已升级")
            % {"project": row["project__remote_id"], "title": row["title"]},
            Severity.CRITICAL,
        )
        for row in rows.values(*ISSUE_FIELDS)
    ]


@_declare(OVERDUE_ISSUES, reads=ISSUE_READS, description="超过应解决时间仍未解决的问题", category="检查")
@in_site_language
def check_overdue_issues(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(OVERDUE_ISSUES.id, overdue_issues(now=now), now)


@_declare(BLOCKING_ISSUES, reads=ISSUE_READS, description="未解决的阻塞问题，立即以严重级别预警")
@in_site_language
def check_blocking_issues(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(BLOCKING_ISSUES.id, blocking_issues(now=now), now)


@_declare(TIMEOUT_ISSUES, reads=ISSUE_READS, description="超过对应严重程度响应时限仍未响应的问题")
@in_site_language
def check_timeout_issues(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(TIMEOUT_ISSUES.id, unanswered_issues(now=now), now)


@_declare(
    ISSUE_ESCALATION,
    reads=ISSUE_READS,
    description="超过对应严重程度解决时限的问题以严重级别预警，未确认时沿联系人链升级",
    category="推送",
)
@in_site_language
def check_issue_timeout_escalation(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(ISSUE_ESCALATION.id, issues_past_resolution_sla(now=now), now)


# --- 成本超支预警 -------------------------------------------------------------------------------

COST_OVERRUN = _Declared(
    "check_cost_overrun_alerts", "成本超支预警", "0 10 * * *", Severity.WARNING, "核对成本并与负责人确认预算"
)


def cost_overruns(*, now: datetime) -> list[Firing]:
    """Active projects whose actual cost exceeds the budget (critical), or the budget share of
    their progress (warning), by more than the tolerance."""
    from projects.models import Project

    tolerance = Decimal(1) + Decimal(str(threshold_value("cost_overrun_tolerance_pct"))) / 100
    rows = Project.objects.filter(
        deleted_at__isnull=True, status__in=ACTIVE_STATUSES, budget__gt=0, actual_cost__gt=0
    ).values("pk", "source", "remote_id", "customer_name", "owner_name", "budget", "actual_cost", "progress")
    firing = []
    for row in rows:
        budget, cost = row["budget"], row["actual_cost"]
        earned = budget * row["progress"] / 100
        if cost > budget * tolerance:
            severity = Severity.CRITICAL
            title = _("项目 %(project)s 实际成本 %(cost)s 超出预算 %(budget)s")
        elif cost > earned * tolerance:
            severity = Severity.WARNING
            title = _("项目 %(project)s 实际成本 %(cost)s 超出进度对应预算（预算 %(budget)s）")
        else:
            continue
        project = {
            "project_id": row["pk"],
            "project__source": row["source"],
            "project__remote_id": row["remote_id"],
            "project__customer_name": row["customer_name"],
            "project__owner_name": row["owner_name"],
        }
        firing.append(
            Firing(
                key=_key(project, row["remote_id"]),
                title=title % {"project": row["remote_id"], "cost": cost, "budget": budget},
                labels=_labels(project),
                link=_project_link(project),
                severity=severity,
            )
        )
    return firing


@_declare(COST_OVERRUN, reads=["projects_project"], description="实际成本超出预算或超出进度对应预算（含容差）")
@in_site_language
def check_cost_overrun_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(COST_OVERRUN.id, cost_overruns(now=now), now)


# --- 收款提醒服务 -------------------------------------------------------------------------------

PAYMENT_REMINDER = _Declared(
    "check_payment_reminder", "收款提醒服务", "30 9 * * *", Severity.WARNING, "联系客户确认回款安排"
)


def payments_due(*, now: datetime) -> list[Firing]:
    """Payment plans not fully received, due within N days (info) or overdue (by lateness)."""
    from django.db.models import F

    today = _today(now)
    horizon = today + timedelta(days=_days("payment_due_within_days"))
    rows = (
        PaymentPlan.objects.filter(
            due_date__lte=horizon, received_amount__lt=F("amount"), project__deleted_at__isnull=True
        )
        .exclude(project__status=ProjectStatus.CANCELLED)
        .values("remote_id", "name", "amount", "received_amount", "due_date", *PROJECT_FIELDS)
    )
    firing = []
    for row in rows:
        late = (today - row["due_date"]).days
        owed = row["amount"] - row["received_amount"]
        params = {"project": row["project__remote_id"], "name": row["name"], "owed": owed, "days": late}
        if late > 0:
            title, severity = (
                _("项目 %(project)s %(name)s 逾期 %(days)s 天未收，待收 %(owed)s") % params,
                _lateness_severity(late),
            )
        else:
            params["date"] = row["due_date"].isoformat()
            title, severity = _("项目 %(project)s %(name)s 将于 %(date)s 到期，待收 %(owed)s") % params, Severity.INFO
        firing.append(
            Firing(
                key=_key(row, row["remote_id"]),
                title=title,
                labels=_labels(row),
                link=_project_link(row),
                severity=severity,
            )
        )
    return firing


@_declare(
    PAYMENT_REMINDER,
    reads=["projects_project", "projects_paymentplan"],
    description="N 天内到期或已逾期且未收齐的收款计划",
    category="推送",
)
@in_site_language
def check_payment_reminder(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(PAYMENT_REMINDER.id, payments_due(now=now), now)


# --- 负荷超限预警 -------------------------------------------------------------------------------

WORKLOAD = _Declared(
    "check_workload_overload_alerts", "负荷超限预警", "0 11 * * *", Severity.WARNING, "重新分配任务或调整计划"
)


def overloaded_people(*, now: datetime) -> list[Firing]:
    """People whose hours of the last 7 days, or whose unfinished tasks due in the next 7 days,
    exceed their capacity (two aggregate queries)."""
    today = _today(now)
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
        _open_tasks()
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


@_declare(
    WORKLOAD,
    reads=["projects_project", "projects_task", "projects_timesheet"],
    description="人员最近 7 天工时或未来 7 天到期的未完成任务超过上限",
)
@in_site_language
def check_workload_overload_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _run(WORKLOAD.id, overloaded_people(now=now), now)


def declared_default(key: str) -> float:
    """A threshold's declared default (what staff return to)."""
    from alerts.alerting.thresholds import SPECS

    return SPECS[key].default
