"""A job never runs twice at once; the second start is recorded as skipped. The rule is a
database constraint, so it holds between processes and hosts, not only inside one worker."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from alerts.models import JobRun, JobStats
from alerts.tasks import run_job
from tests.conftest import wait_until


@pytest.mark.django_db
def test_start_while_the_job_runs_is_recorded_as_skipped(declare_job):
    inner = {}

    def job_that_is_started_again_while_running() -> dict:
        # A second start of the same job arrives while this run is still running.
        inner.update(run_job("probe_job", "schedule"))
        return {"ok": True}

    declare_job(job_that_is_started_again_while_running, id="probe_job")

    outer = run_job("probe_job", "schedule")

    assert outer["status"] == JobRun.Status.SUCCESS
    assert inner["status"] == JobRun.Status.SKIPPED
    skipped = JobRun.objects.get(pk=inner["run_id"])
    assert skipped.result == {"overlapped_run": outer["run_id"]}
    assert f"#{outer['run_id']}" in skipped.error
    assert skipped.started_at is None
    assert JobStats.objects.get(job_id="probe_job").skipped_total == 1


@pytest.mark.django_db
def test_manual_trigger_while_running_is_skipped_too(declare_job):
    inner = {}

    def job() -> dict:
        queued = JobRun.objects.create(job_id="probe_job", trigger="manual")
        inner.update(run_job("probe_job", "manual", queued.pk))
        return {}

    declare_job(job, id="probe_job")
    run_job("probe_job", "schedule")

    assert inner["status"] == JobRun.Status.SKIPPED


@pytest.mark.django_db
def test_database_refuses_two_running_runs_of_one_job():
    JobRun.objects.create(job_id="probe_job", trigger="schedule", status=JobRun.Status.RUNNING)
    JobRun.objects.create(job_id="other_job", trigger="schedule", status=JobRun.Status.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        JobRun.objects.create(job_id="probe_job", trigger="manual", status=JobRun.Status.RUNNING)


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_on_separate_connections_run_the_job_once(declare_job):
    """Two workers (threads with their own database connections) start the job together."""
    release = threading.Event()
    entered = threading.Event()
    executions = []

    def held_job() -> dict:
        executions.append(1)
        entered.set()
        release.wait(timeout=30)
        return {}

    declare_job(held_job, id="probe_job")
    answers = {}

    def worker(name):
        try:
            answers[name] = run_job("probe_job", "schedule")
        finally:
            connection.close()

    first = threading.Thread(target=worker, args=("first",))
    first.start()
    wait_until(entered.is_set, message="the first run to start")
    second = threading.Thread(target=worker, args=("second",))
    second.start()
    second.join(timeout=30)
    release.set()
    first.join(timeout=30)

    assert answers["first"]["status"] == JobRun.Status.SUCCESS
    assert answers["second"]["status"] == JobRun.Status.SKIPPED
    assert executions == [1]


@pytest.mark.django_db
def test_queued_run_claimed_by_another_worker_first_is_not_run_again(declare_job):
    """A redelivered task reads its run still queued, but another worker claims it just before."""
    executions = []
    declare_job(lambda: executions.append(1) or {}, id="probe_job")
    run = JobRun.objects.create(job_id="probe_job", trigger="manual")
    raced = []

    def other_worker_claims_first(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and '"host"' in sql and not raced:
            raced.append(1)  # the other worker's claim commits just before ours
            execute(
                'UPDATE "alerts_jobrun" SET "status" = %s, "host" = %s WHERE "id" = %s',
                ["running", "other-worker", run.pk],
                False,
                context,
            )
        return execute(sql, params, many, context)

    with connection.execute_wrapper(other_worker_claims_first):
        run_job("probe_job", "manual", run.pk)

    run.refresh_from_db()
    assert raced == [1]
    assert executions == []
    assert (run.status, run.host) == (JobRun.Status.RUNNING, "other-worker")
    assert not JobStats.objects.filter(job_id="probe_job").exists()
