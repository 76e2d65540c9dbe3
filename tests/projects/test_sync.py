"""The project sync against the sandbox over HTTP: full and incremental passes, change detection
with a field-level diff, deleted projects, and failing projects that do not stop the run."""

from datetime import UTC, datetime, timedelta

import pytest

from projects import sync
from projects.models import Milestone, PaymentPlan, Project, ProjectChange, ProjectSyncRun, SyncCursor, Task

# After 01:00 Shanghai on a day: the first run then is the daily full pass.
MORNING = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def full_sync(**kwargs) -> ProjectSyncRun:
    return sync.sync_projects(mode="full", **kwargs)


def test_first_full_pass_caches_every_project_with_its_parts(remote):
    run = full_sync(now=MORNING)
    assert (run.status, run.projects_total, run.created, run.failed) == ("success", 30, 30, 0)
    project = Project.objects.get(remote_id="P00005")
    assert project.milestones.exists() and project.tasks.exists() and project.payment_plans.exists()
    assert len(project.content_hash) == 64 and project.fetched_at == MORNING
    assert Milestone.objects.count() > 30 and Task.objects.count() > 30 and PaymentPlan.objects.exists()


def test_second_full_pass_writes_nothing_when_nothing_changed(remote):
    full_sync(now=MORNING)
    later = MORNING + timedelta(hours=1)
    run = full_sync(now=later)
    assert (run.updated, run.created, run.unchanged) == (0, 0, 30)
    assert not ProjectChange.objects.filter(run=run).exists()
    assert Project.objects.filter(fetched_at=later).count() == 30
    assert Project.objects.filter(changed_at=MORNING).count() == 30


def test_incremental_pass_fetches_only_what_changed_and_records_the_diff(remote):
    full_sync(now=MORNING)
    before = Project.objects.get(remote_id="P00007")
    new_status = "completed" if before.status != "completed" else "paused"
    remote.set_status("P00007", new_status)
    details_before = remote.sandbox.state()["requests"].get("pm_detail", 0)

    run = sync.sync_projects(mode="incremental", now=MORNING + timedelta(minutes=15))

    assert (run.projects_total, run.updated, run.status) == (1, 1, "success")
    assert remote.sandbox.state()["requests"]["pm_detail"] - details_before == 1
    change = ProjectChange.objects.get(run=run)
    assert change.remote_id == "P00007" and change.kind == "updated"
    assert change.diff["status"] == [before.status, new_status]
    assert Project.objects.get(remote_id="P00007").status == new_status


def test_a_touch_without_new_content_is_unchanged_by_hash(remote):
    full_sync(now=MORNING)
    remote.control(touch=["P00003"])
    run = sync.sync_projects(mode="incremental", now=MORNING + timedelta(minutes=15))
    assert (run.projects_total, run.unchanged, run.updated) == (1, 1, 0)


def test_scheduled_runs_pick_full_once_a_day_then_incremental(remote):
    assert sync.sync_projects(now=MORNING).mode == "full"
    assert sync.sync_projects(now=MORNING + timedelta(minutes=15)).mode == "incremental"
    # 01:00 Shanghai the next day is 17:00 UTC.
    assert sync.sync_projects(now=datetime(2026, 11, 28, 17, 5, tzinfo=UTC)).mode == "full"


def test_full_pass_finds_projects_deleted_at_the_remote(remote):
    full_sync(now=MORNING)
    remote.control(delete=["P00011"])
    incremental = sync.sync_projects(mode="incremental", now=MORNING + timedelta(minutes=15))
    assert incremental.deleted == 0  # an incremental listing cannot see a deletion
    run = full_sync(now=MORNING + timedelta(days=1))
    assert run.deleted == 1
    assert Project.objects.get(remote_id="P00011").deleted_at is not None
    assert ProjectChange.objects.get(run=run, kind="deleted").remote_id == "P00011"


def test_a_failing_project_does_not_stop_the_run_and_is_retried_by_the_next(remote):
    full_sync(now=MORNING)
    remote.control(fail=["P00004"], status={"P00004": "paused", "P00009": "paused"})

    run = sync.sync_projects(mode="incremental", now=MORNING + timedelta(minutes=15))

    assert (run.status, run.updated + run.unchanged, run.failed) == ("partial", 1, 1)
    assert run.failures == [
        {"source": "main", "remote_id": "P00004", "code": "http_500", "message": "the project system answered HTTP 500"}
    ]
    assert Project.objects.get(remote_id="P00004").sync_error_code == "http_500"
    assert Project.objects.get(remote_id="P00009").status == "paused"

    remote.control(heal=["P00004"])
    # The listing no longer names P00004 (the cursor moved past it); it is retried all the same.
    retry = sync.sync_projects(mode="incremental", now=MORNING + timedelta(minutes=30))
    assert (retry.status, retry.failed) == ("success", 0)
    healed = Project.objects.get(remote_id="P00004")
    assert healed.status == "paused" and healed.sync_error_code == ""


def test_an_unreachable_remote_fails_the_run_and_keeps_the_cursor(remote):
    full_sync(now=MORNING)
    cursor = SyncCursor.objects.get(source="main").updated_since
    remote.sandbox.faults(fail_rate=1.0, fail_status=503)
    run = sync.sync_projects(mode="incremental", now=MORNING + timedelta(minutes=15))
    assert (run.status, run.error_code) == ("failed", "http_503")
    assert "main" in run.error
    assert SyncCursor.objects.get(source="main").updated_since == cursor


def test_only_the_configured_project_types_are_synced(remote):
    from projects.models import ProjectSyncConfig

    config = ProjectSyncConfig.load()
    config.project_types = ["sales"]
    config.save()
    run = full_sync(now=MORNING)
    assert run.projects_total == 10
    assert set(Project.objects.values_list("project_type", flat=True)) == {"sales"}


@pytest.mark.parametrize("fault", [{"fail_rate": 1.0, "fail_status": 500}, {"reset_rate": 1.0}])
def test_the_job_raises_when_the_run_failed_so_the_scheduler_records_it(remote, fault):
    from projects.jobs import sync_projects as job

    remote.sandbox.faults(**fault)
    with pytest.raises(sync.ProjectSyncFailed):
        job()
