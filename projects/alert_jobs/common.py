"""What the project-side alert jobs share: the thresholds staff edit, the labels, keys and
severity of their alerts, and `declare_job_rule` (one declaration for a job and its rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from alerts.alerting.lifecycle import Firing, evaluate_rule
from alerts.alerting.messages import absolute_url
from alerts.alerting.models import Severity
from alerts.alerting.rules import declare_rule
from alerts.alerting.thresholds import ThresholdSpec, declare_threshold, threshold_value
from alerts.registry import job
from projects.models import ProjectStatus, Task

# Projects whose schedule still matters: finished or cancelled ones raise no schedule alerts.
ACTIVE_STATUSES = (ProjectStatus.NOT_STARTED, ProjectStatus.IN_PROGRESS, ProjectStatus.PAUSED)
PROJECT_FIELDS = (
    "project_id",
    "project__source",
    "project__remote_id",
    "project__customer_name",
    "project__owner_name",
)
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


def threshold_days(key: str) -> int:
    return int(threshold_value(key))


def project_labels(row: dict, **extra) -> dict:
    return {
        "project": row["project__remote_id"],
        "customer": row["project__customer_name"],
        "owner": row["project__owner_name"],
        **extra,
    }


def project_link(row: dict) -> str:
    return absolute_url(reverse("admin:projects_project_change", args=[row["project_id"]]))


def alert_key(row: dict, remote_id: str) -> str:
    # Remote ids are unique per source only.
    return f"{row['project__source']}:{remote_id}"


def severity_by_lateness():
    """A function from days late to severity, with the critical threshold read once per run (not
    once per row)."""
    critical_days = threshold_days("project_late_critical_days")
    return lambda days_late: Severity.CRITICAL if days_late >= critical_days else Severity.WARNING


def local_today(now: datetime) -> date:
    return timezone.localdate(now)


@dataclass(frozen=True)
class Declared:
    """A job's id, name and seed time, declared once for both its `@job` and its rule."""

    id: str
    name: str
    cron: str
    severity: str
    advice: str


def declare_job_rule(spec: Declared, *, reads: list[str], description: str, category: str = "预警"):
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


def evaluate(rule: str, firing: list[Firing], now: datetime) -> dict:
    return evaluate_rule(rule=rule, firing=firing, now=now).as_dict()


def declared_default(key: str) -> float:
    """A threshold's declared default (what staff return to)."""
    from alerts.alerting.thresholds import SPECS

    return SPECS[key].default


def open_tasks():
    """Unfinished tasks of active projects."""
    return Task.objects.exclude(status=Task.Status.DONE).filter(
        project__deleted_at__isnull=True, project__status__in=ACTIVE_STATUSES
    )
