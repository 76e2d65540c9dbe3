"""A project sync that changed the cache queues one after-sync run of every enabled job reading the
cache (the mechanism is `alerts.dependents`); a sync that changed nothing queues none."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts import services as scheduler
from alerts.models import JobRun
from projects import sync
from projects.models import Project

MORNING = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
SOME_PROJECT_JOBS = {
    "check_milestone_alerts",
    "check_task_delay_alerts",
    "check_overdue_issues",
    "calculate_project_health",
    "check_payment_reminder",
    "check_presale_workorder_timeout",
    "check_workload_overload_alerts",
    # Reads the remote project system itself (roles, duty templates): a sync that saw it change
    # makes the day's duty tasks follow, like the cache readers.
    "generate_job_duty_tasks",
}


def after_sync_runs():
    return JobRun.objects.filter(trigger=JobRun.Trigger.AFTER_SYNC)


@pytest.mark.django_db
def test_a_sync_with_changes_queues_the_cache_readers_and_one_without_queues_none(
    remote, unread_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = sync.sync_projects(mode="full", now=MORNING)

    queued = set(after_sync_runs().values_list("job_id", flat=True))
    assert first.created == 30
    assert queued >= SOME_PROJECT_JOBS
    # The sync and the cache cleanup write the cache: they are not its dependents.
    assert not {"sync_projects", "cleanup_project_cache"} & queued
    assert all(after_sync_runs().values_list("task_id", flat=True))

    # Those runs have run; a pass that changes nothing queues nothing.
    after_sync_runs().update(status=JobRun.Status.SUCCESS)
    with django_capture_on_commit_callbacks(execute=True):
        unchanged = sync.sync_projects(mode="full", now=MORNING + timedelta(hours=1))
    assert (unchanged.created, unchanged.updated, unchanged.deleted) == (0, 0, 0)
    assert after_sync_runs().filter(status="queued").count() == 0

    # A change at the remote queues them again, except what staff disabled.
    scheduler.sync_schedules(now=MORNING)
    scheduler.update_job_schedule(job_id="check_milestone_alerts", enabled=False)
    status = Project.objects.get(remote_id="P00007").status
    remote.set_status("P00007", "paused" if status != "paused" else "completed")
    with django_capture_on_commit_callbacks(execute=True):
        changed = sync.sync_projects(mode="incremental", now=MORNING + timedelta(hours=2))
    again = set(after_sync_runs().filter(status="queued").values_list("job_id", flat=True))
    assert changed.updated == 1
    assert SOME_PROJECT_JOBS - {"check_milestone_alerts"} <= again
    assert "check_milestone_alerts" not in again
