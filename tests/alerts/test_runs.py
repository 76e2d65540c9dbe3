"""Every run is a JobRun row: success with its summary, failure with the error, timeouts."""

import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from django_q.exceptions import TimeoutException

from alerts import services
from alerts.models import JobRun, JobStats
from alerts.tasks import run_job

pytestmark = pytest.mark.django_db


def test_scheduled_run_records_success_duration_and_summary(declare_job):
    declare_job(lambda: {"alerts_created": 2}, id="probe_job")

    answer = run_job("probe_job", "schedule")

    run = JobRun.objects.get(pk=answer["run_id"])
    assert answer["status"] == run.status == JobRun.Status.SUCCESS
    assert run.trigger == JobRun.Trigger.SCHEDULE
    assert run.result == {"alerts_created": 2}
    assert run.started_at <= run.finished_at
    assert run.duration_s >= 0
    assert run.error == ""
    assert run.host
    stats = JobStats.objects.get(job_id="probe_job")
    assert (stats.success_total, stats.duration_count, stats.last_success_at) == (1, 1, run.finished_at)


def test_failing_job_records_failed_with_error_and_traceback(declare_job):
    def broken() -> dict:
        raise ValueError("库存表不存在")

    declare_job(broken, id="probe_job")

    run = JobRun.objects.get(pk=run_job("probe_job", "schedule")["run_id"])

    assert run.status == JobRun.Status.FAILED
    assert run.error == "ValueError: 库存表不存在"
    assert "Traceback" in run.traceback
    assert "in broken" in run.traceback
    assert JobStats.objects.get(job_id="probe_job").failed_total == 1


def test_run_that_finished_over_its_sla_stays_a_success_flagged_and_counted(declare_job):
    def slow() -> dict:
        time.sleep(0.05)  # the job's own work, longer than its 10 ms SLA
        return {"done": True}

    declare_job(slow, id="probe_job", sla_s=0.01)

    run = JobRun.objects.get(pk=run_job("probe_job", "schedule")["run_id"])

    assert (run.status, run.sla_exceeded, run.error) == (JobRun.Status.SUCCESS, True, "")
    assert run.duration_s > 0.01
    assert run.result == {"done": True}
    stats = JobStats.objects.get(job_id="probe_job")
    assert (stats.success_total, stats.timeout_total, stats.sla_exceeded_total) == (1, 0, 1)
    assert stats.last_success_at == run.finished_at
    # The work is done: nothing to retry.
    with pytest.raises(services.IllegalRunTransition):
        services.retry_run(run=run, user=None)


def test_run_within_its_sla_is_not_flagged(declare_job):
    declare_job(lambda: {}, id="probe_job", sla_s=60)

    run = JobRun.objects.get(pk=run_job("probe_job", "schedule")["run_id"])

    assert (run.status, run.sla_exceeded) == (JobRun.Status.SUCCESS, False)
    assert JobStats.objects.get(job_id="probe_job").sla_exceeded_total == 0


def test_run_interrupted_by_the_worker_timeout_is_recorded_as_timeout(declare_job):
    def interrupted() -> dict:
        # What django-q2's worker raises inside a task at the cluster timeout.
        raise TimeoutException("Task exceeded maximum timeout value (600 seconds)")

    declare_job(interrupted, id="probe_job")

    with pytest.raises(TimeoutException):
        run_job("probe_job", "schedule")

    run = JobRun.objects.get(job_id="probe_job")
    assert run.status == JobRun.Status.TIMEOUT
    assert "600 seconds" in run.error
    assert JobStats.objects.get(job_id="probe_job").timeout_total == 1


def test_run_left_running_by_a_killed_worker_is_swept_to_timeout(declare_job, settings):
    declare_job(lambda: {}, id="probe_job")
    limit = settings.Q_CLUSTER["timeout"]
    dead = JobRun.objects.create(
        job_id="probe_job",
        trigger="schedule",
        status=JobRun.Status.RUNNING,
        started_at=timezone.now() - timedelta(seconds=limit + services.KILL_GRACE_S + 1),
    )
    alive = JobRun.objects.create(
        job_id="cleanup_old_job_runs", trigger="schedule", status=JobRun.Status.RUNNING, started_at=timezone.now()
    )

    assert services.expire_overdue_runs() == {"timed_out": 1, "failed": 0}

    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == JobRun.Status.TIMEOUT
    assert "工作进程" in dead.error
    assert alive.status == JobRun.Status.RUNNING


def test_next_start_of_a_job_closes_its_dead_run_instead_of_skipping(declare_job, settings):
    declare_job(lambda: {}, id="probe_job")
    JobRun.objects.create(
        job_id="probe_job",
        trigger="schedule",
        status=JobRun.Status.RUNNING,
        started_at=timezone.now() - timedelta(seconds=settings.Q_CLUSTER["timeout"] + 3600),
    )

    answer = run_job("probe_job", "schedule")

    assert answer["status"] == JobRun.Status.SUCCESS
    assert list(JobRun.objects.order_by("pk").values_list("status", flat=True)) == ["timeout", "success"]


def test_queued_run_never_claimed_is_given_up(declare_job):
    declare_job(lambda: {}, id="probe_job")
    lost = JobRun.objects.create(job_id="probe_job", trigger="manual")
    JobRun.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - services.QUEUED_RUN_EXPIRY - timedelta(1))

    assert services.expire_overdue_runs() == {"timed_out": 0, "failed": 1}
    lost.refresh_from_db()
    assert lost.status == JobRun.Status.FAILED


def test_redelivered_task_does_not_run_the_job_twice(declare_job):
    calls = []
    declare_job(lambda: calls.append(1) or {}, id="probe_job")
    run = JobRun.objects.create(job_id="probe_job", trigger="manual")

    run_job("probe_job", "manual", run.pk)
    run_job("probe_job", "manual", run.pk)

    assert calls == [1]
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.SUCCESS


def test_run_of_a_job_removed_from_code_fails_with_a_clear_error():
    run = JobRun.objects.create(job_id="vanished_job", trigger="manual")

    assert run_job("vanished_job", "manual", run.pk) is None

    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED
    assert "vanished_job" in run.error


def test_non_dict_summary_is_stored_as_value(declare_job):
    declare_job(lambda: 7, id="probe_job")
    run = JobRun.objects.get(pk=run_job("probe_job", "schedule")["run_id"])
    assert run.result == {"value": 7}


def local(text: str) -> datetime:
    """An aware datetime in the site's time zone (Asia/Shanghai), where cron fires."""
    return timezone.make_aware(datetime.fromisoformat(text))


# The first minute of an hour is where a test reading the clock used to fail.
@pytest.mark.parametrize("now", ["2026-03-10 07:00:20", "2026-03-10 07:35:00", "2026-03-10 07:59:59"])
def test_missed_fire_times_while_down_are_counted_on_the_next_scheduled_run(declare_job, now):
    declare_job(lambda: {}, id="probe_job", cron="0 * * * *")
    services.sync_schedules(now=local("2026-03-10 03:30:00"))
    # The last scheduled start ran at the 04:00 fire; the cluster was down after it.
    previous = JobRun.objects.create(job_id="probe_job", trigger="schedule", status=JobRun.Status.SUCCESS)
    JobRun.objects.filter(pk=previous.pk).update(queued_at=local("2026-03-10 04:00:03"))

    run = services.execute_job(job_id="probe_job", trigger="schedule", now=local(now))

    # Fires at 05:00, 06:00 and 07:00 passed; this run is the 07:00 one, the other two were missed.
    assert run.missed_runs == 2


def test_cleanup_deletes_finished_runs_beyond_retention_and_keeps_counters(declare_job, settings):
    settings.JOB_RUN_RETENTION_DAYS = 30
    declare_job(lambda: {}, id="probe_job")
    run_job("probe_job", "schedule")
    old = JobRun.objects.get(job_id="probe_job")
    JobRun.objects.filter(pk=old.pk).update(queued_at=timezone.now() - timedelta(days=31))
    stuck = JobRun.objects.create(job_id="other", trigger="manual")
    JobRun.objects.filter(pk=stuck.pk).update(queued_at=timezone.now() - timedelta(days=31))
    recent = JobRun.objects.get(pk=run_job("probe_job", "schedule")["run_id"])

    summary = run_job("cleanup_old_job_runs", "schedule")

    assert set(JobRun.objects.filter(job_id__in=["probe_job", "other"]).values_list("pk", flat=True)) == {
        recent.pk,
        stuck.pk,  # unfinished rows are never deleted by age
    }
    cleanup = JobRun.objects.get(pk=summary["run_id"])
    assert cleanup.result == {"deleted": 1}
    assert JobStats.objects.get(job_id="probe_job").success_total == 2


def test_job_that_exits_is_recorded_as_failed_not_timeout(declare_job):
    import sys

    declare_job(lambda: sys.exit(3), id="probe_job")

    with pytest.raises(SystemExit):
        run_job("probe_job", "schedule")

    assert JobRun.objects.get(job_id="probe_job").status == JobRun.Status.FAILED


def test_failed_run_can_be_retried_and_a_successful_one_cannot(
    declare_job, staff_user, enqueue_in_process, django_capture_on_commit_callbacks
):
    attempts = iter([RuntimeError("first"), None])

    def flaky() -> dict:
        error = next(attempts)
        if error:
            raise error
        return {"ok": True}

    declare_job(flaky, id="probe_job")
    failed = JobRun.objects.get(pk=run_job("probe_job", "schedule")["run_id"])

    with django_capture_on_commit_callbacks(execute=True):
        retry = services.retry_run(run=failed, user=staff_user)

    retry.refresh_from_db()
    assert (retry.trigger, retry.retry_of, retry.triggered_by, retry.status) == ("retry", failed, staff_user, "success")
    with pytest.raises(services.IllegalRunTransition):
        services.retry_run(run=retry, user=None)


def test_admin_retry_action_queues_a_retry_of_each_failed_run(client, staff_user, declare_job):
    def broken() -> dict:
        raise RuntimeError("boom")

    declare_job(broken, id="probe_job")
    failed = run_job("probe_job", "schedule")["run_id"]
    ok = run_job("cleanup_old_job_runs", "schedule")["run_id"]
    client.force_login(staff_user)

    response = client.post("/admin/alerts/jobrun/", {"action": "retry", "_selected_action": [failed, ok]}, follow=True)

    assert response.status_code == 200
    retry = JobRun.objects.get(trigger="retry")
    assert (retry.job_id, retry.retry_of_id, retry.status) == ("probe_job", failed, "queued")
