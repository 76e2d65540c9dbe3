"""The project-side jobs that store figures instead of raising alerts: the daily issue statistics
snapshot and the response-time metrics. Each is one aggregate read of the cache and one set-based
write (the day's rows replaced in one transaction, so a re-run gives the same rows)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from alerts.alerting.thresholds import ThresholdSpec, declare_threshold, threshold_value
from alerts.registry import job
from projects.models import IssueStatisticsSnapshot, ProjectIssue, ResponseMetrics

declare_threshold(
    ThresholdSpec(
        "response_metrics_window_days", gettext_lazy("响应时效指标：统计最近多少天"), gettext_lazy("天"), 30, 1, 365
    )
)


def _day_bounds(now: datetime):
    """The local day that ended before `now` (the job runs after midnight) and its bounds."""
    day = timezone.localdate(now) - timedelta(days=1)
    start = timezone.make_aware(datetime.combine(day, time.min))
    return day, start, start + timedelta(days=1)


@transaction.atomic
def snapshot_issue_statistics(*, now: datetime) -> dict:
    """Per project and severity, of the day that ended: issues opened and resolved that day, and
    open and overdue at its end. Groups with nothing to say store no row."""
    day, start, end = _day_bounds(now)
    still_open = Q(resolved_at__isnull=True) | Q(resolved_at__gte=end)
    groups = (
        ProjectIssue.objects.filter(project__deleted_at__isnull=True, opened_at__lt=end)
        .values("project_id", "severity")
        .annotate(
            opened_that_day=Count("pk", filter=Q(opened_at__gte=start)),
            resolved_that_day=Count("pk", filter=Q(resolved_at__gte=start, resolved_at__lt=end)),
            open_at_end=Count("pk", filter=still_open),
            overdue_at_end=Count("pk", filter=still_open & Q(due_at__lt=end)),
        )
    )
    rows = [
        IssueStatisticsSnapshot(
            day=day,
            project_id=group["project_id"],
            severity=group["severity"],
            opened=group["opened_that_day"],
            resolved=group["resolved_that_day"],
            open=group["open_at_end"],
            overdue=group["overdue_at_end"],
            computed_at=now,
        )
        for group in groups
        if group["opened_that_day"] or group["resolved_that_day"] or group["open_at_end"]
    ]
    IssueStatisticsSnapshot.objects.filter(day=day).delete()
    IssueStatisticsSnapshot.objects.bulk_create(rows, batch_size=500)
    return {"day": day.isoformat(), "rows": len(rows)}


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _mean_and_p90(values: list[float]) -> tuple[float | None, float | None]:
    """The mean and the 90th percentile (nearest rank: the smallest value with at least 90 % of
    the values at or below it), rounded to 0.01 h."""
    if not values:
        return None, None
    ordered = sorted(values)
    p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
    return round(sum(ordered) / len(ordered), 2), round(p90, 2)


@transaction.atomic
def calculate_response_metrics(*, now: datetime) -> dict:
    """Mean and p90 hours from opening to first response, and to resolution, of the issues
    responded to (resp. resolved) in the window ending with the day that ended, per project and
    per team (the project owner's)."""
    day, _start, end = _day_bounds(now)
    window = int(threshold_value("response_metrics_window_days"))
    since = end - timedelta(days=window)
    issues = ProjectIssue.objects.filter(
        Q(responded_at__gte=since, responded_at__lt=end) | Q(resolved_at__gte=since, resolved_at__lt=end),
        project__deleted_at__isnull=True,
    ).values_list(
        "project__source", "project__remote_id", "project__owner_name", "opened_at", "responded_at", "resolved_at"
    )
    response: dict[tuple[str, str], list[float]] = defaultdict(list)
    resolution: dict[tuple[str, str], list[float]] = defaultdict(list)
    for source, remote_id, owner, opened, responded, resolved in issues:
        subjects = [(ResponseMetrics.Scope.PROJECT, f"{source}:{remote_id}")]
        if owner:
            subjects.append((ResponseMetrics.Scope.TEAM, owner))
        for subject in subjects:
            if responded is not None and since <= responded < end:
                response[subject].append(_hours(responded - opened))
            if resolved is not None and since <= resolved < end:
                resolution[subject].append(_hours(resolved - opened))
    rows = []
    for scope, subject in sorted(set(response) | set(resolution)):
        response_mean, response_p90 = _mean_and_p90(response[(scope, subject)])
        resolve_mean, resolve_p90 = _mean_and_p90(resolution[(scope, subject)])
        rows.append(
            ResponseMetrics(
                day=day,
                scope=scope,
                subject=subject,
                window_days=window,
                responded=len(response[(scope, subject)]),
                response_mean_h=response_mean,
                response_p90_h=response_p90,
                resolved=len(resolution[(scope, subject)]),
                resolve_mean_h=resolve_mean,
                resolve_p90_h=resolve_p90,
                computed_at=now,
            )
        )
    ResponseMetrics.objects.filter(day=day).delete()
    ResponseMetrics.objects.bulk_create(rows, batch_size=500)
    return {"day": day.isoformat(), "rows": len(rows)}


@job(
    id="daily_issue_statistics_snapshot",
    name="每日问题统计快照",
    cron="0 3 * * *",
    category="汇总",
    risk="low",
    sla_s=300,
    reads=["projects_project", "projects_projectissue"],
    writes=["projects_issuestatisticssnapshot"],
    description="按项目和严重程度保存前一天的问题统计：新增、解决、未解决、逾期",
)
def daily_issue_statistics_snapshot(*, now: datetime | None = None) -> dict:
    return snapshot_issue_statistics(now=now or timezone.now())


@job(
    id="calculate_response_metrics",
    name="计算响应时效指标",
    cron="0 1 * * *",
    category="汇总",
    risk="low",
    sla_s=300,
    reads=["projects_project", "projects_projectissue"],
    writes=["projects_responsemetrics"],
    description="按项目和团队计算最近 N 天问题的平均及 P90 响应、解决时长并保存",
)
def calculate_response_metrics_job(*, now: datetime | None = None) -> dict:
    return calculate_response_metrics(now=now or timezone.now())
