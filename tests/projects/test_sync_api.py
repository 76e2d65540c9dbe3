"""POST /api/projects/sync and GET /api/projects/sync-history (staff only)."""

import pytest

from alerts.models import JobRun
from projects.models import ProjectSyncRun


def test_staff_starts_a_sync_that_runs_as_the_registered_job(
    remote, staff_api, enqueue_in_process, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post("/api/projects/sync")
    assert response.status_code == 202
    run = JobRun.objects.get(pk=response.json()["data"]["run_id"])
    assert (run.job_id, run.status) == ("sync_projects", "success")
    assert run.result["total"] == 30 and run.result["status"] == "success"
    assert ProjectSyncRun.objects.get().projects_total == 30


def test_a_second_start_while_one_is_under_way_answers_with_that_run(remote, staff_api):
    first = staff_api.post("/api/projects/sync")  # queued: no worker in this test
    second = staff_api.post("/api/projects/sync")
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["data"] == {
        "run_id": first.json()["data"]["run_id"],
        "status": "queued",
        "already_running": True,
    }
    assert JobRun.objects.filter(job_id="sync_projects").count() == 1


def test_history_pages_runs_with_their_field_level_diff(synced, staff_api):
    from projects import sync
    from projects.models import Project

    before = Project.objects.get(remote_id="P00002").status
    after = "cancelled" if before != "cancelled" else "paused"
    synced.set_status("P00002", after)
    sync.sync_projects(mode="incremental")

    response = staff_api.get("/api/projects/sync-history?page_size=1")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["count"] == 2 and data["next"]
    run = data["records"][0]
    assert (run["mode"], run["updated"], run["status"]) == ("incremental", 1, "success")
    change = run["changes"][0]
    assert change["project_id"] == "P00002" and change["diff"]["status"] == [before, after]
    labels = {
        "not_started": "未开始",
        "in_progress": "进行中",
        "paused": "已暂停",
        "completed": "已完成",
        "cancelled": "已取消",
    }
    assert change["diff_display"]["status"] == [labels[before], labels[after]]


@pytest.mark.parametrize("client", ["anon_api", "field_api"])
def test_only_staff_see_or_start_syncs(remote, client, request):
    api = request.getfixturevalue(client)
    assert api.post("/api/projects/sync").status_code in (401, 403)
    assert api.get("/api/projects/sync-history").status_code in (401, 403)
    assert not JobRun.objects.exists()


def test_the_history_caps_the_changes_it_lists_per_run_and_counts_them_all(synced, staff_api):
    """Walked under `make run`: after the first sync of 3,000 projects one history page was 5.7 MB
    (every created project's whole diff). A run lists at most `changes` of them (default 100) and
    says how many there are."""
    run = staff_api.get("/api/projects/sync-history?changes=5").json()["data"]["records"][0]
    assert (run["created"], run["changes_total"], len(run["changes"])) == (30, 30, 5)
    assert [c["project_id"] for c in run["changes"]] == ["P00001", "P00002", "P00003", "P00004", "P00005"]
    assert len(staff_api.get("/api/projects/sync-history").json()["data"]["records"][0]["changes"]) == 30
    assert staff_api.get("/api/projects/sync-history?changes=0").json()["data"]["records"][0]["changes"] == []
    refused = staff_api.get("/api/projects/sync-history?changes=abc")
    assert refused.status_code == 400 and "changes" in refused.json()["message"]
