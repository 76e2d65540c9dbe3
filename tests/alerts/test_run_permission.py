"""One rule decides who may start a run by hand, whatever the entry point: the `alerts.run_job`
permission (the staff group has it), or the host's operator through the `run_job` command."""

from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from rest_framework.test import APIClient

from alerts import services
from alerts.models import JobRun, ScheduledJob
from alerts.tasks import run_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(django_user_model):
    """A staff-side account (admin access) that may look at the scheduler but not operate it."""
    user = django_user_model.objects.create_user(username="viewer1", password="pw-viewer1", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="alerts", codename__in=["view_jobrun", "view_scheduledjob"])
    )
    return user


@pytest.fixture
def failed_run(declare_job):
    def broken() -> dict:
        raise RuntimeError("boom")

    declare_job(broken, id="probe_job")
    return JobRun.objects.get(pk=run_job("probe_job", "schedule")["run_id"])


def test_admin_run_now_needs_the_run_permission(client, viewer, staff_user):
    services.sync_schedules()
    action = {"action": "run_now", "_selected_action": ["cleanup_old_job_runs"]}

    client.force_login(viewer)
    client.post("/admin/alerts/scheduledjob/", action, follow=True)
    assert not JobRun.objects.exists()

    client.force_login(staff_user)
    client.post("/admin/alerts/scheduledjob/", action, follow=True)
    assert JobRun.objects.get().triggered_by == staff_user


def test_admin_enable_and_disable_need_the_change_permission(client, viewer, staff_user):
    services.sync_schedules()
    disable = {"action": "disable", "_selected_action": ["cleanup_old_job_runs"]}

    client.force_login(viewer)
    client.post("/admin/alerts/scheduledjob/", disable, follow=True)
    assert ScheduledJob.objects.get(job_id="cleanup_old_job_runs").enabled is True

    client.force_login(staff_user)
    client.post("/admin/alerts/scheduledjob/", disable, follow=True)
    assert ScheduledJob.objects.get(job_id="cleanup_old_job_runs").enabled is False


def test_admin_retry_needs_the_run_permission_not_only_view(client, viewer, staff_user, failed_run):
    action = {"action": "retry", "_selected_action": [failed_run.pk]}

    client.force_login(viewer)
    client.post("/admin/alerts/jobrun/", action, follow=True)
    assert not JobRun.objects.filter(trigger="retry").exists()

    client.force_login(staff_user)
    client.post("/admin/alerts/jobrun/", action, follow=True)
    assert JobRun.objects.get(trigger="retry").retry_of == failed_run


def test_api_trigger_refuses_a_staff_member_without_the_run_permission(viewer):
    api = APIClient()
    api.force_authenticate(viewer)

    response = api.post("/api/v1/scheduler/jobs/cleanup_old_job_runs/trigger")

    assert response.status_code == 403
    assert response.json()["message"] == "你没有手动运行任务的权限"
    assert not JobRun.objects.exists()


def test_service_refuses_a_retry_by_a_user_without_the_permission(viewer, failed_run):
    with pytest.raises(services.RunNotAllowed):
        services.retry_run(run=failed_run, user=viewer)
    assert not JobRun.objects.filter(trigger="retry").exists()


def test_page_offers_run_now_only_to_users_who_may_start_runs(client, viewer, staff_user):
    services.sync_schedules()

    client.force_login(viewer)
    assert b"data-trigger=" not in client.get("/scheduler/").content

    client.force_login(staff_user)
    assert b'data-trigger="cleanup_old_job_runs"' in client.get("/scheduler/").content


def test_run_job_command_records_a_manual_run_by_the_host_operator(declare_job):
    declare_job(lambda: {"ok": True}, id="probe_job")

    call_command("run_job", "probe_job", stdout=StringIO())

    run = JobRun.objects.get(job_id="probe_job")
    assert (run.trigger, run.triggered_by, run.status, run.result) == ("manual", None, "success", {"ok": True})
