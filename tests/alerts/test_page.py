"""The /scheduler/ page and the admin for runs and schedules."""

import json
import re

import pytest

from alerts import services
from alerts.tasks import run_job

pytestmark = pytest.mark.django_db


def test_scheduler_page_shows_jobs_chart_and_recent_failures_to_staff(client, staff_user, declare_job):
    def broken() -> dict:
        raise RuntimeError("<script>alert(1)</script> 数据库不可用")

    declare_job(broken, id="probe_job", name="探针任务", cron="0 7 * * *")
    services.sync_schedules()
    run_job("probe_job", "schedule")
    client.force_login(staff_user)

    response = client.get("/scheduler/?job=probe_job")

    assert response.status_code == 200
    html = response.content.decode()
    assert "探针任务" in html
    assert "每天 07:00" in html
    assert "立即执行" in html
    assert 'data-trigger="probe_job"' in html
    assert '<option value="probe_job" selected>' in html
    assert 'id="chart-area"' in html
    assert "alerts/scheduler.js" in html
    # The failure is listed with its error, escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 数据库不可用" in html
    assert "<script>alert(1)</script>" not in html


def test_scheduler_page_refuses_field_users_and_redirects_anonymous(client, field_user):
    anonymous = client.get("/scheduler/")
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]
    client.force_login(field_user)
    assert client.get("/scheduler/").status_code == 403


def test_script_builds_the_page_without_inner_html():
    from pathlib import Path

    import alerts

    script = (Path(alerts.__file__).parent / "static" / "alerts" / "scheduler.js").read_text()
    assert "innerHTML" not in script
    assert "createElementNS" in script


@pytest.mark.parametrize(
    "path",
    [
        "/admin/alerts/jobrun/",
        "/admin/alerts/scheduledjob/",
        "/admin/alerts/scheduledjob/cleanup_old_job_runs/change/",
    ],
)
def test_admin_pages_open_for_staff(client, staff_user, path):
    run_job("cleanup_old_job_runs", "schedule")
    client.force_login(staff_user)
    assert client.get(path).status_code == 200


def test_admin_run_detail_opens_for_staff(client, staff_user):
    run_id = run_job("cleanup_old_job_runs", "schedule")["run_id"]
    client.force_login(staff_user)
    assert client.get(f"/admin/alerts/jobrun/{run_id}/change/").status_code == 200


def test_admin_edit_of_a_schedule_is_kept_by_registration(client, staff_user):
    services.sync_schedules()
    client.force_login(staff_user)

    response = client.post(
        "/admin/alerts/scheduledjob/cleanup_old_job_runs/change/", {"cron": "10 4 * * *", "enabled": ""}
    )

    assert response.status_code == 302
    services.sync_schedules()
    row = services.scheduled_job("cleanup_old_job_runs")
    assert (row.cron, row.enabled, row.edited_by) == ("10 4 * * *", False, staff_user)


def test_admin_refuses_an_invalid_cron(client, staff_user):
    services.sync_schedules()
    client.force_login(staff_user)
    response = client.post(
        "/admin/alerts/scheduledjob/cleanup_old_job_runs/change/", {"cron": "99 * * * *", "enabled": "on"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "不是有效的 cron 表达式：99 * * * *" in html and "not a valid" not in html


def test_staff_change_a_jobs_cron_on_the_page_and_read_what_it_means(client, staff_user):
    services.sync_schedules()
    client.force_login(staff_user)
    page = client.get("/scheduler/").content.decode()
    assert 'action="/scheduler/jobs/cleanup_old_job_runs/schedule"' in page

    response = client.post("/scheduler/jobs/cleanup_old_job_runs/schedule", {"cron": "30 6 * * 1-5"}, follow=True)

    assert response.redirect_chain[-1][0].endswith("/scheduler/#job-cleanup_old_job_runs")
    row = services.scheduled_job("cleanup_old_job_runs")
    assert (row.cron, row.enabled, row.edited_by) == ("30 6 * * 1-5", True, staff_user)
    assert "cleanup_old_job_runs：每周一至周五 06:30（30 6 * * 1-5），已启用" in response.content.decode()


def test_an_invalid_cron_on_the_page_is_refused_with_the_reason_and_changes_nothing(client, staff_user):
    services.sync_schedules()
    before = services.scheduled_job("cleanup_old_job_runs").cron
    client.force_login(staff_user)

    response = client.post("/scheduler/jobs/cleanup_old_job_runs/schedule", {"cron": "99 * * * *"}, follow=True)

    html = response.content.decode()
    assert "不是有效的 cron 表达式：99 * * * *" in html and "not a valid" not in html
    assert services.scheduled_job("cleanup_old_job_runs").cron == before


def test_staff_turn_a_job_off_and_on_again_on_the_page(client, staff_user):
    services.sync_schedules()
    client.force_login(staff_user)

    off = client.post("/scheduler/jobs/cleanup_old_job_runs/schedule", {"enabled": "0"}, follow=True)
    assert services.scheduled_job("cleanup_old_job_runs").enabled is False
    assert "已停用" in off.content.decode() and ">启用</button>" in off.content.decode()

    client.post("/scheduler/jobs/cleanup_old_job_runs/schedule", {"enabled": "1"})
    assert services.scheduled_job("cleanup_old_job_runs").enabled is True


def test_field_users_may_not_change_a_schedule(client, field_user):
    services.sync_schedules()
    before = services.scheduled_job("cleanup_old_job_runs")
    client.force_login(field_user)
    response = client.post("/scheduler/jobs/cleanup_old_job_runs/schedule", {"cron": "1 1 * * *", "enabled": "0"})
    assert response.status_code == 403
    after = services.scheduled_job("cleanup_old_job_runs")
    assert (after.cron, after.enabled) == (before.cron, before.enabled)


def test_the_page_gives_its_script_run_statuses_in_chinese_and_the_runs_link(client, staff_user):
    client.force_login(staff_user)
    html = client.get("/scheduler/").content.decode()
    labels = json.loads(re.search(r'<script id="chart-labels" type="application/json">(.*?)</script>', html).group(1))
    assert labels["statuses"] == {
        "queued": "排队中",
        "running": "运行中",
        "success": "成功",
        "failed": "失败",
        "timeout": "超时",
        "skipped": "已跳过",
    }
    assert labels["run_url"] == "/admin/alerts/jobrun/0/change/"
