"""The staff project dashboard: health and progress per project with their trend (from the rows the
health and progress jobs store), open alerts, overdue issues and payments due; filters; pages;
a fixed number of queries whatever the page holds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from projects import alert_jobs, cache, health
from projects.models import Project
from sandbox.projects import build_project

TREND = 5


def _document(number: int, *, today, now) -> dict:
    """A live project whose first payment falls due in three days and whose first issue is overdue
    (dates moved to the test's today, so the page's clock and the data agree)."""
    document = build_project(number, 0, status="in_progress")
    document["planned_start"] = (today - timedelta(days=60)).isoformat()
    document["planned_end"] = (today + timedelta(days=60)).isoformat()
    document["payment_plans"] = [
        {
            "id": f"{document['id']}-PAY1",
            "name": "第 1 期款",
            "amount": "1000.00",
            "due_date": (today + timedelta(days=3)).isoformat(),
            "received_amount": "200.00",
            "received_date": None,
        }
    ]
    document["issues"] = [
        {
            "id": f"{document['id']}-I1",
            "title": "问题 1",
            "severity": "medium",
            "blocking": False,
            "opened_at": (now - timedelta(days=5)).isoformat(),
            "responded_at": (now - timedelta(days=4)).isoformat(),
            "resolved_at": None,
            "due_at": (now - timedelta(days=1)).isoformat(),
        }
    ]
    return document


def _projects(count: int, *, start: int = 1) -> None:
    """`count` projects with TREND days of health and progress history and their open alerts."""
    now, today = timezone.now(), timezone.localdate()
    documents = [_document(number, today=today, now=now) for number in range(start, start + count)]
    cache.store_documents(source="main", documents=documents, now=now)
    for days_ago in range(TREND - 1, -1, -1):
        health.calculate_progress_summary(now=now - timedelta(days=days_ago))
        health.calculate_project_health(now=now - timedelta(days=days_ago))
    alert_jobs.check_payment_reminder(now=now)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_each_project_shows_health_progress_trends_alerts_overdue_issues_and_payments_due(db, staff_client):
    _projects(3)
    project = Project.objects.get(remote_id="P00002")
    latest = project.health_history.order_by("-day").first()

    page = staff_client.get(reverse("projects:dashboard"))

    assert page.status_code == 200
    rows = {row.project.remote_id: row for row in page.context["rows"]}
    assert list(rows) == ["P00001", "P00002", "P00003"]
    row = rows["P00002"]
    assert (row.health_score, row.health_level) == (latest.score, latest.level)
    assert row.health_trend.count(",") == TREND, "one point per day of history"
    assert row.progress == project.progress_history.order_by("-day").first().progress_pct
    assert row.progress_trend.count(",") == TREND
    assert (row.open_alerts, row.overdue_issues) == (1, 1)
    assert (row.payments_due, row.payments_overdue, row.payments_due_amount) == (1, 0, Decimal("800.00"))
    html = page.content.decode()
    assert html.count("<polyline") == 6
    assert f"?project={project.remote_id}" in html
    assert "cdn" not in html.lower() and "<script" not in html


def test_filters_by_type_owner_and_customer(db, staff_client):
    _projects(6)
    one = Project.objects.get(remote_id="P00004")

    def shown(**query) -> set[str]:
        return {row.project.remote_id for row in staff_client.get(reverse("projects:dashboard"), query).context["rows"]}

    assert shown(type=one.project_type) == set(
        Project.objects.filter(project_type=one.project_type).values_list("remote_id", flat=True)
    )
    assert one.remote_id in shown(owner=one.owner_name)
    assert shown(owner=one.owner_name) == set(
        Project.objects.filter(owner_name=one.owner_name).values_list("remote_id", flat=True)
    )
    assert shown(customer=one.customer_name) == set(
        Project.objects.filter(customer_name=one.customer_name).values_list("remote_id", flat=True)
    )
    assert shown(customer="没有这个客户") == set()


def test_a_bad_type_is_a_chinese_400(db, staff_client):
    answer = staff_client.get(reverse("projects:dashboard"), {"type": "nonsense"})
    assert answer.status_code == 400
    assert "项目类型无效" in answer.content.decode()


def test_pages_of_projects_keep_the_filters(db, staff_client):
    _projects(30)

    first = staff_client.get(reverse("projects:dashboard"), {"customer": ""})
    second = staff_client.get(reverse("projects:dashboard"), {"page": 2})

    assert len(first.context["rows"]) == 25 and len(second.context["rows"]) == 5
    assert "page=2" in first.content.decode()


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("projects:dashboard")).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_the_projects(db, staff_client):
    _projects(2)
    few = _page_queries(staff_client)
    _projects(23, start=3)
    full = _page_queries(staff_client)

    assert few == full


def test_only_staff_see_the_dashboard(db, client, field_user):
    assert client.get(reverse("projects:dashboard")).status_code == 302
    client.force_login(field_user)
    assert client.get(reverse("projects:dashboard")).status_code == 403


def test_the_staff_home_page_links_the_dashboard(db, staff_client):
    assert reverse("projects:dashboard") in staff_client.get(reverse("home")).content.decode()
