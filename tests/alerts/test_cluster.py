"""Round trips through a real qcluster: a manual trigger and a due schedule are run by a worker."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from alerts import services
from alerts.models import JobRun
from tests.conftest import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.django_db(transaction=True)]


def run_status(run_id: int) -> str:
    return JobRun.objects.get(pk=run_id).status


@pytest.fixture
def operator_api(django_user_model):
    """A staff-flag user allowed to start runs: transactional tests flush the groups that
    migrations created, so the permission is granted directly."""
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    operator = django_user_model.objects.create_user("operator", is_staff=True)
    operator.user_permissions.add(Permission.objects.get(content_type__app_label="alerts", codename="run_job"))
    client = APIClient()
    client.force_authenticate(operator)
    return client


def test_triggered_run_is_executed_by_a_worker(qcluster, operator_api):
    response = operator_api.post("/api/v1/scheduler/jobs/expire_overdue_job_runs/trigger")
    assert response.status_code == 202
    run_id = response.json()["run_id"]

    wait_until(lambda: run_status(run_id) == "success", timeout_s=60, message="the worker to run the job")

    run = JobRun.objects.get(pk=run_id)
    assert run.trigger == "manual"
    assert run.result == {"timed_out": 0, "failed": 0}
    assert run.task_id


def test_due_schedule_is_run_by_the_cluster_scheduler_once(qcluster):
    services.sync_schedules()
    Schedule.objects.filter(name="expire_overdue_job_runs").update(next_run=timezone.now() - timedelta(hours=1))

    scheduled = JobRun.objects.filter(job_id="expire_overdue_job_runs", trigger="schedule")
    wait_until(
        lambda: scheduled.filter(status="success").exists(), timeout_s=90, message="the scheduler to start the job"
    )

    schedule = Schedule.objects.get(name="expire_overdue_job_runs")
    assert schedule.next_run > timezone.now()  # catch_up off: the missed hour is not replayed
    assert scheduled.count() == 1
