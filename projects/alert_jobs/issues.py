"""Issue alerts: overdue, blocking, unanswered within the response limit, past the resolution limit."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting.lifecycle import Firing
from alerts.alerting.messages import in_site_language
from alerts.alerting.models import Severity
from alerts.alerting.thresholds import threshold_value
from projects.alert_jobs.common import (
    ISSUE_SEVERITIES,
    PROJECT_FIELDS,
    Declared,
    alert_key,
    declare_job_rule,
    evaluate,
    project_labels,
    project_link,
    severity_by_lateness,
)
from projects.models import ProjectIssue, ProjectStatus

# --- 问题：逾期、阻塞、响应超时、解决超时 -------------------------------------------------------

OVERDUE_ISSUES = Declared(
    "check_overdue_issues", "问题逾期预警", "0 * * * *", Severity.WARNING, "督促解决问题或更新应解决时间"
)
BLOCKING_ISSUES = Declared(
    "check_blocking_issues", "阻塞问题预警", "5 * * * *", Severity.CRITICAL, "立即协调资源解除阻塞"
)
TIMEOUT_ISSUES = Declared(
    "check_timeout_issues", "问题超时升级", "0 1 * * *", Severity.WARNING, "尽快响应问题并记录响应时间"
)
ISSUE_ESCALATION = Declared(
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
        key=alert_key(row, row["remote_id"]),
        title=title,
        labels=project_labels(row, issue_severity=row["severity"]),
        link=project_link(row),
        severity=severity,
    )


def overdue_issues(*, now: datetime) -> list[Firing]:
    """Unresolved issues more than the grace hours past their due time."""
    cutoff = now - timedelta(hours=threshold_value("issue_overdue_grace_hours"))
    by_lateness = severity_by_lateness()
    firing = []
    for row in _open_issues().filter(due_at__lt=cutoff).values(*ISSUE_FIELDS):
        late = now - row["due_at"]
        severity = Severity.CRITICAL if row["severity"] == "critical" else by_lateness(late.days)
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


@declare_job_rule(OVERDUE_ISSUES, reads=ISSUE_READS, description="超过应解决时间仍未解决的问题", category="检查")
@in_site_language
def check_overdue_issues(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(OVERDUE_ISSUES.id, overdue_issues(now=now), now)


@declare_job_rule(BLOCKING_ISSUES, reads=ISSUE_READS, description="未解决的阻塞问题，立即以严重级别预警")
@in_site_language
def check_blocking_issues(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(BLOCKING_ISSUES.id, blocking_issues(now=now), now)


@declare_job_rule(TIMEOUT_ISSUES, reads=ISSUE_READS, description="超过对应严重程度响应时限仍未响应的问题")
@in_site_language
def check_timeout_issues(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(TIMEOUT_ISSUES.id, unanswered_issues(now=now), now)


@declare_job_rule(
    ISSUE_ESCALATION,
    reads=ISSUE_READS,
    description="超过对应严重程度解决时限的问题以严重级别预警，未确认时沿联系人链升级",
    category="推送",
)
@in_site_language
def check_issue_timeout_escalation(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(ISSUE_ESCALATION.id, issues_past_resolution_sla(now=now), now)
