"""Progress summary and health score over hand-made projects written by the projects sync
service: exact figures, the reasons, and the day's row updated (not added to) by a later run."""

from datetime import UTC, datetime, timedelta

import pytest

from projects import cache, health
from projects.models import ProjectHealth, ProjectProgressSummary
from sandbox.projects import build_project

NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai on 2026-06-15


def clean_document(number: int) -> dict:
    document = build_project(number, 0, status="in_progress")
    document.update(
        planned_start="2026-05-01",
        planned_end="2026-09-30",
        budget="100000.00",
        actual_cost="10000.00",
        progress=50,
        milestones=[],
        tasks=[],
        issues=[],
        payment_plans=[],
        timesheets=[],
    )
    return document


def troubled_document() -> dict:
    document = clean_document(1)
    document.update(planned_end="2026-06-05", actual_cost="120000.00")  # 10 days late, over budget
    document["milestones"] = [
        {
            "id": f"P00001-M{n}",
            "name": f"M{n}",
            "planned_date": planned,
            "actual_date": None,
            "status": status,
            "payment_share": share,
        }
        for n, (planned, status, share) in enumerate(
            [("2026-05-20", "done", 30), ("2026-06-10", "pending", 40), ("2026-08-01", "pending", 30)], start=1
        )
    ]
    document["tasks"] = [
        {
            "id": f"P00001-T{n}",
            "name": f"T{n}",
            "assignee": "张伟",
            "due_date": "2026-07-01",
            "progress": progress,
            "status": "doing",
        }
        for n, progress in enumerate([20, 60], start=1)
    ]
    soon, ago = (NOW + timedelta(hours=5)).isoformat(), (NOW - timedelta(hours=5)).isoformat()
    document["issues"] = [
        {
            "id": "P00001-I1",
            "title": "阻塞",
            "severity": "high",
            "blocking": True,
            "opened_at": ago,
            "responded_at": None,
            "resolved_at": None,
            "due_at": soon,
        },
        {
            "id": "P00001-I2",
            "title": "逾期",
            "severity": "low",
            "blocking": False,
            "opened_at": ago,
            "responded_at": None,
            "resolved_at": None,
            "due_at": ago,
        },
    ]
    document["payment_plans"] = [
        {
            "id": "P00001-PAY1",
            "name": "第 1 期款",
            "amount": "30000.00",
            "due_date": "2026-06-01",
            "received_amount": "0.00",
            "received_date": None,
        }
    ]
    return document


@pytest.fixture
def projects(db):
    cache.store_documents(source="main", documents=[troubled_document(), clean_document(2)], now=NOW)


def test_progress_weighs_milestones_by_payment_share_and_tasks_by_progress(projects):
    assert health.calculate_progress_summary(now=NOW) == {"day": "2026-06-15", "projects": 1}
    row = ProjectProgressSummary.objects.get(project__remote_id="P00001")
    assert (row.milestone_pct, row.task_pct, row.progress_pct) == (30.0, 40.0, 35.0)

    health.calculate_progress_summary(now=NOW + timedelta(hours=1))
    assert ProjectProgressSummary.objects.count() == 1  # the day's row, updated
    assert ProjectProgressSummary.objects.get().computed_at == NOW + timedelta(hours=1)


def test_health_loses_points_for_each_finding_and_says_why(projects):
    result = health.calculate_project_health(now=NOW)
    assert result == {"day": "2026-06-15", "projects": 2, "bad": 1}
    troubled = ProjectHealth.objects.get(project__remote_id="P00001")
    assert (troubled.score, troubled.level) == (5, "bad")
    assert [reason["points"] for reason in troubled.reasons] == [30, 10, 20, 20, 5, 10]
    assert troubled.reasons[0]["reason"] == "已超过计划结束日期 10 天"
    clean = ProjectHealth.objects.get(project__remote_id="P00002")
    assert (clean.score, clean.level, clean.reasons) == (100, "good", [])


def test_the_daily_snapshot_keeps_one_row_per_project_and_day(projects):
    health.daily_health_snapshot(now=NOW - timedelta(days=1))
    health.daily_health_snapshot(now=NOW)
    health.calculate_project_health(now=NOW + timedelta(hours=3))
    days = sorted(
        str(day) for day in ProjectHealth.objects.filter(project__remote_id="P00001").values_list("day", flat=True)
    )
    assert days == ["2026-06-14", "2026-06-15"]


def test_the_health_levels_speak_english_when_asked():
    from django.utils import translation

    with translation.override("en"):
        labels = [str(level.label) for level in ProjectHealth.Level]
    assert labels == ["Healthy", "Watch", "At risk"]
