"""The stored-row issue jobs over a hand-made project written by the projects sync service: exact
figures of the daily statistics snapshot and of the response metrics, re-runs replacing the day's
rows, and the metrics window followed at run time."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.alerting.thresholds import set_threshold
from projects import cache, issue_metrics
from projects.models import IssueStatisticsSnapshot, ResponseMetrics
from sandbox.projects import build_project

# 10:00 in Shanghai on 2026-06-15: the jobs report 2026-06-14, which ended at 16:00 UTC.
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
DAY_END = datetime(2026, 6, 14, 16, 0, tzinfo=UTC)


def at(hours: float | None) -> str | None:
    return None if hours is None else (DAY_END + timedelta(hours=hours)).isoformat()


def issue(number, severity, opened, responded, resolved, due):
    return {
        "id": f"P00001-I{number}",
        "title": f"问题 {number}",
        "severity": severity,
        "blocking": False,
        "opened_at": at(opened),
        "responded_at": at(responded),
        "resolved_at": at(resolved),
        "due_at": at(due),
    }


@pytest.fixture
def project(db):
    document = build_project(1, 0, status="in_progress")
    document["issues"] = [
        issue(1, "critical", -30, -29, -5, -6),  # resolved during the day: 1 h to respond, 25 h to resolve
        issue(2, "critical", -10, -7, None, -1),  # opened during the day, overdue at its end: 3 h
        issue(3, "medium", -50, None, None, 10),  # open, nobody answered, not yet due
        issue(4, "medium", 2, 3, None, 20),  # opened after the day: not in it
        issue(5, "low", -100, -90, -40, -30),  # resolved before the day: 10 h and 60 h
    ]
    cache.store_documents(source="main", documents=[document], now=NOW)
    return document


def test_daily_snapshot_counts_opened_resolved_open_and_overdue_per_severity(project):
    assert issue_metrics.daily_issue_statistics_snapshot(now=NOW) == {"day": "2026-06-14", "rows": 2}
    rows = {
        row.severity: (row.opened, row.resolved, row.open, row.overdue)
        for row in IssueStatisticsSnapshot.objects.filter(day="2026-06-14")
    }
    assert rows == {"critical": (1, 1, 1, 1), "medium": (0, 0, 1, 0)}

    # A re-run replaces the day's rows.
    issue_metrics.daily_issue_statistics_snapshot(now=NOW + timedelta(hours=1))
    assert IssueStatisticsSnapshot.objects.count() == 2


def test_response_metrics_give_mean_and_p90_per_project_and_team(project):
    assert issue_metrics.calculate_response_metrics_job(now=NOW) == {"day": "2026-06-14", "rows": 2}
    by_scope = {row.scope: row for row in ResponseMetrics.objects.all()}
    assert by_scope["team"].subject == project["owner"]["name"]
    for row in by_scope.values():
        assert (row.responded, row.response_mean_h, row.response_p90_h) == (3, 4.67, 10.0)
        assert (row.resolved, row.resolve_mean_h, row.resolve_p90_h) == (2, 42.5, 60.0)
    assert by_scope["project"].subject == "main:P00001"


def test_response_metrics_follow_the_window_staff_set(project):
    issue_metrics.calculate_response_metrics_job(now=NOW)
    set_threshold(key="response_metrics_window_days", value=2)
    issue_metrics.calculate_response_metrics_job(now=NOW)
    row = ResponseMetrics.objects.get(scope="project")
    assert (row.window_days, row.responded, row.response_mean_h, row.response_p90_h) == (2, 2, 2.0, 3.0)
    assert (row.resolved, row.resolve_mean_h) == (2, 42.5)
    assert ResponseMetrics.objects.count() == 2  # the day's earlier rows replaced, not added to
