"""Jobs triggered after a sync ends `success`: every enabled job reading the synced tables gets one
queued run (trigger `after_sync`), enqueued on commit and run by the scheduler's task like any
other; disabled jobs, jobs already queued, and failed syncs queue nothing; a job running when the
sync ends runs again after it."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from alerts import services as scheduler
from alerts.models import JobRun
from sync import services
from sync.documents import DOCUMENT_SPECS
from sync.models import BatchStatus, SyncBatch

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 9)
NOW = datetime(2026, 4, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
# The 13 ERP jobs of issue 13: all read synced documents.
ERP_JOBS = {
    "generate_shortage_alerts",
    "daily_kit_check",
    "check_delivery_delay",
    "check_production_plan_alerts",
    "check_outsourcing_delivery_alerts",
    "check_overdue_receivable_alerts",
    "check_work_report_timeout",
    "run_ecn_scheduler",
    "check_equipment_maintenance_reminder",
    "sales_reminder_scan",
    "daily_spec_match_check",
    "generate_shortage_daily_report",
    "generate_production_daily_reports",
}


def run_batch(batch_id: int) -> SyncBatch:
    """Step the batch in this process until it is finished (its own enqueues go nowhere)."""
    for _attempt in range(10):
        if services.run_batch_step(batch_id=batch_id) in ("finished", "not_claimed"):
            break
    return SyncBatch.objects.get(pk=batch_id)


def after_sync_runs() -> dict[str, JobRun]:
    return {run.job_id: run for run in JobRun.objects.filter(trigger=JobRun.Trigger.AFTER_SYNC)}


def test_a_successful_batch_queues_each_job_reading_the_synced_tables_once(
    sandbox, unread_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = run_batch(services.start_date_sync(business_date=DAY).pk)

    assert batch.status == BatchStatus.SUCCESS
    runs = after_sync_runs()
    assert set(runs) >= ERP_JOBS
    tables = {spec.model._meta.db_table for spec in DOCUMENT_SPECS}
    assert set(runs) == {spec.id for spec in scheduler.jobs_reading(tables)}
    # Enqueued at commit, each with the job's own task.
    assert all(run.status == "queued" and run.task_id for run in runs.values())
    # No job that writes synced tables (the sync itself) is triggered by them.
    assert "sync_yesterday" not in runs

    # A second sync ending while those runs still wait queues nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        run_batch(services.resync_days(dates=[DAY]).pk)
    assert JobRun.objects.filter(trigger=JobRun.Trigger.AFTER_SYNC).count() == len(runs)


def test_the_queued_run_is_run_by_the_scheduler_task_and_records_its_summary(
    sandbox, unread_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_batch(services.start_date_sync(business_date=DAY).pk)
    queued = after_sync_runs()["generate_shortage_alerts"]

    from alerts import tasks

    outcome = tasks.run_job("generate_shortage_alerts", JobRun.Trigger.AFTER_SYNC, queued.pk)

    queued.refresh_from_db()
    assert outcome == {"run_id": queued.pk, "status": "success"}
    assert (queued.trigger, queued.status) == ("after_sync", "success")
    assert set(queued.result) >= {"firing", "raised", "refreshed", "resolved"}


def test_the_nightly_sync_queues_the_jobs_too(sandbox, unread_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.sync_yesterday()

    assert batch.status == BatchStatus.SUCCESS
    assert set(after_sync_runs()) >= ERP_JOBS


def test_disabled_jobs_and_jobs_already_queued_are_not_queued(
    sandbox, unread_broker, django_capture_on_commit_callbacks
):
    scheduler.sync_schedules(now=NOW)
    scheduler.update_job_schedule(job_id="check_delivery_delay", enabled=False)
    JobRun.objects.create(job_id="daily_kit_check", trigger=JobRun.Trigger.MANUAL, status="queued")

    with django_capture_on_commit_callbacks(execute=True):
        run_batch(services.start_date_sync(business_date=DAY).pk)

    runs = after_sync_runs()
    assert "generate_shortage_alerts" in runs
    assert not {"check_delivery_delay", "daily_kit_check"} & set(runs)


def test_a_job_running_when_the_sync_ends_runs_again_once_it_has_finished(
    sandbox, unread_broker, django_capture_on_commit_callbacks
):
    # The running one may have read the data before the sync changed it. Queued at once, its
    # after-sync run would be skipped by the overlap policy; it is held, then released.
    running = JobRun.objects.create(job_id="run_ecn_scheduler", trigger=JobRun.Trigger.SCHEDULE, status="running")

    with django_capture_on_commit_callbacks(execute=True):
        run_batch(services.start_date_sync(business_date=DAY).pk)

    held = after_sync_runs()["run_ecn_scheduler"]
    assert (held.status, held.task_id) == ("queued", "")
    assert after_sync_runs()["generate_shortage_alerts"].task_id  # the others went to the queue

    from alerts import runs

    runs.finish_run(running.pk, job_id="run_ecn_scheduler", status=JobRun.Status.SUCCESS)
    assert held.task_id == "" and JobRun.objects.get(pk=held.pk).task_id == ""  # finish_run alone: still held
    # A run ending through the scheduler releases what waited behind it.
    finished = runs.execute_job(job_id="run_ecn_scheduler", now=NOW)
    assert finished.status == "success"
    held.refresh_from_db()
    assert held.status == "queued" and held.task_id


def test_a_held_run_is_released_when_the_running_one_is_closed_as_lost(
    unread_broker, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from alerts import runs

    started = NOW - timedelta(days=1)
    JobRun.objects.create(job_id="run_ecn_scheduler", trigger="schedule", status="running", started_at=started)
    with django_capture_on_commit_callbacks(execute=True):
        held = scheduler.run_jobs_reading(["sync_engineeringchange"], reason="test", now=NOW)
    [held] = [run for run in held if run.job_id == "run_ecn_scheduler"]
    assert JobRun.objects.get(pk=held.pk).task_id == ""

    runs.expire_overdue_runs(now=NOW)

    held.refresh_from_db()
    assert held.status == "queued" and held.task_id


def test_a_failed_batch_queues_nothing(sandbox, unread_broker, django_capture_on_commit_callbacks):
    sandbox.faults(fail_status=401, fail_next=1_000_000)

    with django_capture_on_commit_callbacks(execute=True):
        batch = run_batch(services.start_date_sync(business_date=DAY).pk)

    assert batch.status == BatchStatus.FAILED
    assert not JobRun.objects.exists()


def test_a_rolled_back_caller_queues_and_enqueues_nothing(django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                scheduler.run_jobs_reading(["sync_materialstock"], reason="test", now=NOW)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass

    assert callbacks == [] and not JobRun.objects.exists()


def test_the_database_admits_one_queued_after_sync_run_per_job():
    from django.db import IntegrityError, transaction

    JobRun.objects.create(job_id="daily_kit_check", trigger=JobRun.Trigger.AFTER_SYNC)
    JobRun.objects.create(job_id="daily_kit_check", trigger=JobRun.Trigger.MANUAL)  # other triggers may queue
    with pytest.raises(IntegrityError), transaction.atomic():
        JobRun.objects.create(job_id="daily_kit_check", trigger=JobRun.Trigger.AFTER_SYNC)
    JobRun.objects.filter(trigger=JobRun.Trigger.AFTER_SYNC).update(status="success")
    JobRun.objects.create(job_id="daily_kit_check", trigger=JobRun.Trigger.AFTER_SYNC)  # once it has run
