"""Every answer of the projects API is the body the OpenAPI schema documents for it, field by field,
in the states schemathesis cannot reach (no project system runs behind the fuzzed server): a
cached project as staff and as its customer, stale, links in each state, runs with their changes,
and the settings."""

from datetime import timedelta

from django.utils import timezone

from projects.models import CustomerLink, Project
from tests.api_contract.documented import assert_documented

PROJECT = "GET /api/projects/{project_id}"
VERIFY = "GET /api/projects/{project_id}/verify-access"


def test_a_project_as_staff_and_as_its_customer_and_the_list_are_documented(synced, staff_api, anon_api):
    staff_view = assert_documented(staff_api.get("/api/projects/P00003"), PROJECT)["data"]
    link = assert_documented(
        staff_api.post("/api/projects/P00003/links", {"days": 7, "note": "发给客户"}, format="json"),
        "POST /api/projects/{project_id}/links",
    )["data"]
    customer_view = assert_documented(anon_api.get(f"/api/projects/P00003?token={link['token']}"), PROJECT)["data"]
    listed = assert_documented(staff_api.get("/api/projects/?page_size=5"), "GET /api/projects/")["data"]

    assert staff_view["milestones"] and staff_view["payment_plans"] and staff_view["tasks"] and staff_view["issues"]
    assert "tasks" not in customer_view and "budget" not in customer_view
    assert (listed["count"], len(listed["records"]), listed["previous"]) == (30, 5, None)


def test_a_stale_project_is_documented(synced, staff_api):
    synced.sandbox.faults(fail_rate=1.0, fail_status=500)
    stale = assert_documented(staff_api.get("/api/projects/P00003?force_sync=true"), PROJECT)["data"]
    assert stale["stale"] is True and stale["stale_reason"]


def test_a_link_in_each_state_is_documented(synced, staff_api, anon_api):
    link = staff_api.post("/api/projects/P00003/links", {"days": 7}, format="json").json()["data"]

    def verified(project_id: str, token: str) -> str:
        return assert_documented(anon_api.get(f"/api/projects/{project_id}/verify-access?token={token}"), VERIFY)[
            "data"
        ]["state"]

    states = [verified("P00003", link["token"]), verified("P00004", link["token"]), verified("P00003", "forged")]
    revoked = assert_documented(
        staff_api.delete(f"/api/projects/links/{link['id']}"), "DELETE /api/projects/links/{link_id}"
    )["data"]
    states.append(verified("P00003", link["token"]))
    CustomerLink.objects.filter(pk=link["id"]).update(revoked_at=None, expires_at=timezone.now() - timedelta(days=1))
    states.append(verified("P00003", link["token"]))

    assert states == ["valid", "other_project", "invalid", "revoked", "expired"]
    assert revoked["state"] == "revoked" and "token" not in revoked


def test_a_sync_started_or_under_way_and_the_runs_with_their_changes_are_documented(synced, staff_api):
    from projects import sync

    before = Project.objects.get(remote_id="P00002").status
    synced.set_status("P00002", "cancelled" if before != "cancelled" else "paused")
    sync.sync_projects(mode="incremental")

    started = staff_api.post("/api/projects/sync")  # queued: no worker in this test
    under_way = staff_api.post("/api/projects/sync")
    history = assert_documented(staff_api.get("/api/projects/sync-history"), "GET /api/projects/sync-history")["data"]

    assert (started.status_code, under_way.status_code) == (202, 200)
    assert assert_documented(started, "POST /api/projects/sync")["data"]["already_running"] is False
    assert assert_documented(under_way, "POST /api/projects/sync")["data"]["already_running"] is True
    assert [run["mode"] for run in history["records"]] == ["incremental", "full"]
    assert all(run["changes"] for run in history["records"])


def test_the_settings_read_and_changed_are_documented(staff_api):
    sync_settings = "/api/config/project-sync"
    time_display = "/api/config/time-display"

    read = assert_documented(staff_api.get(sync_settings), f"GET {sync_settings}")["data"]
    changed = assert_documented(
        staff_api.post(sync_settings, {"enabled": not read["enabled"]}, format="json"), f"POST {sync_settings}"
    )["data"]
    shown = assert_documented(staff_api.get(time_display), f"GET {time_display}")["data"]
    reshown = assert_documented(
        staff_api.post(time_display, {"mode": "absolute", "format": shown["formats"][-1]}, format="json"),
        f"POST {time_display}",
    )["data"]

    assert changed["enabled"] is not read["enabled"]
    assert (reshown["mode"], reshown["format"]) == ("absolute", shown["formats"][-1])
