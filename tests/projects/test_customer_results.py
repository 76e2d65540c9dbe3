"""The customer's page shows what the jobs computed (the stored progress summary and its last days,
the health level in plain words, the milestones' states) and nothing internal: no costs, no
health score or reasons, no link note, no tasks, issues or contacts of the owner."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from projects import cache, health, links
from projects.models import Project
from sandbox.projects import build_project

INTERNAL_NOTE = "内部备注：客户付款慢，注意催款"


def _project(today, now) -> Project:
    document = build_project(7, 0, status="in_progress")
    document.update(
        progress=3,  # the remote's own figure: the page shows the computed one instead
        budget="100000.00",
        actual_cost="987654.00",  # over budget: the health reasons name it
        planned_start=(today - timedelta(days=90)).isoformat(),
        planned_end=(today - timedelta(days=1)).isoformat(),  # late: the health drops
    )
    document["milestones"] = [
        {
            "id": "P00007-M1",
            "name": "启动",
            "planned_date": (today - timedelta(days=60)).isoformat(),
            "actual_date": (today - timedelta(days=58)).isoformat(),
            "status": "done",
            "payment_share": "30",
        },
        {
            "id": "P00007-M2",
            "name": "上线",
            "planned_date": (today - timedelta(days=10)).isoformat(),
            "actual_date": None,
            "status": "pending",
            "payment_share": "40",
        },
        {
            "id": "P00007-M3",
            "name": "验收",
            "planned_date": (today + timedelta(days=20)).isoformat(),
            "actual_date": None,
            "status": "pending",
            "payment_share": "30",
        },
    ]
    document["tasks"] = [
        {
            "id": "P00007-T1",
            "name": "内部任务甲",
            "assignee": "张伟",
            "due_date": today.isoformat(),
            "progress": 50,
            "status": "doing",
        }
    ]
    document["issues"] = [
        {
            "id": "P00007-I1",
            "title": "内部问题乙",
            "severity": "high",
            "blocking": True,
            "opened_at": (now - timedelta(days=3)).isoformat(),
            "responded_at": None,
            "resolved_at": None,
            "due_at": (now - timedelta(days=1)).isoformat(),
        }
    ]
    cache.store_documents(source="main", documents=[document], now=now)
    return Project.objects.get(remote_id="P00007")


def test_the_customer_page_shows_the_computed_progress_milestone_states_and_health_in_plain_words(db):
    now, today = timezone.now(), timezone.localdate()
    project = _project(today, now)
    for days_ago in (2, 1, 0):
        health.calculate_progress_summary(now=now - timedelta(days=days_ago))
        health.calculate_project_health(now=now - timedelta(days=days_ago))
    summary = project.progress_history.get(day=today)
    score = project.health_history.get(day=today)
    link = links.create_link(project=project, note=INTERNAL_NOTE)

    html = Client().get(links.customer_path(link)).content.decode()

    # Milestones 30 of 100 done (30 %), the one task at 50 %: (30 + 50) / 2.
    assert summary.progress_pct == 40.0
    assert "进度 40%" in html and "进度 3%" not in html
    assert "里程碑 1/3 已完成" in html and "1 个已逾期" in html
    assert html.count("已逾期") == 2, "the summary and the late milestone"
    assert score.level == "bad" and "存在风险" in html
    assert html.count("<polyline") == 1
    for internal in (
        "987654",
        "100000",
        str(score.score) + " ",
        *(reason["reason"] for reason in score.reasons),
        INTERNAL_NOTE,
        "内部任务甲",
        "内部问题乙",
        project.owner_phone,
        project.owner_email,
    ):
        assert internal not in html, internal


def test_before_the_jobs_run_the_page_shows_the_remotes_progress_and_no_health(db):
    now, today = timezone.now(), timezone.localdate()
    link = links.create_link(project=_project(today, now))

    html = Client().get(links.customer_path(link)).content.decode()

    assert "进度 3%" in html and "<polyline" not in html
    assert "存在风险" not in html and "进展正常" not in html
