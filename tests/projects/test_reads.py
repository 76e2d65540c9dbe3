"""GET /api/projects/<id>: cache first, the remote on a miss or force_sync, the cached copy marked
stale when the remote fails, and one remote call for many concurrent forced refreshes."""

import threading

import pytest
from rest_framework.test import APIClient

from projects.models import Project


def detail_calls(remote) -> int:
    return remote.sandbox.state()["requests"].get("pm_detail", 0)


def test_a_cached_project_is_answered_without_calling_the_remote(synced, staff_api):
    calls = detail_calls(synced)
    response = staff_api.get("/api/projects/P00003")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["id"], data["stale"]) == ("P00003", False)
    assert data["milestones"] and data["tasks"] and "budget" in data
    assert detail_calls(synced) == calls


def test_a_miss_fetches_from_the_remote_and_caches_it(remote, staff_api):
    response = staff_api.get("/api/projects/P00012?use_cache=true")
    assert response.status_code == 200 and response.json()["data"]["stale"] is False
    assert Project.objects.filter(remote_id="P00012").exists()
    assert detail_calls(remote) == 1


def test_force_sync_reads_the_remote_and_shows_the_new_status(synced, staff_api):
    synced.set_status("P00003", "paused")
    assert staff_api.get("/api/projects/P00003?force_sync=true").json()["data"]["status"] == "paused"
    assert Project.objects.get(remote_id="P00003").status == "paused"


@pytest.mark.parametrize(
    "fault",
    [
        {"fail_rate": 1.0, "fail_status": 500},
        {"fail_rate": 1.0, "fail_status": 503},
        {"reset_rate": 1.0},
        {"hang_rate": 1.0, "hang_s": 3},
    ],
    ids=["500", "503", "reset", "timeout"],
)
def test_a_failing_remote_answers_the_cached_copy_marked_stale(synced, staff_api, fault):
    fetched_at = Project.objects.get(remote_id="P00003").fetched_at
    synced.sandbox.faults(**fault)
    response = staff_api.get("/api/projects/P00003?force_sync=true")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["stale"] is True and data["stale_reason"]
    assert data["fetched_at"] == fetched_at.astimezone(data_tz(data)).isoformat()


def data_tz(data):
    from datetime import datetime

    return datetime.fromisoformat(data["fetched_at"]).tzinfo


def test_nothing_cached_and_the_remote_down_is_a_clear_503(remote, staff_api):
    remote.sandbox.faults(fail_rate=1.0, fail_status=503)
    response = staff_api.get("/api/projects/P00003")
    assert response.status_code == 503
    assert response.json()["code"] == "remote_unavailable"


def test_an_unknown_project_is_404(remote, staff_api):
    assert staff_api.get("/api/projects/P99999").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_concurrent_forced_refreshes_of_one_project_make_one_remote_call(synced_transactional, staff_user):
    remote = synced_transactional
    remote.sandbox.faults(latency_ms=[400, 400])
    before = detail_calls(remote)
    answers = []

    def refresh():
        client = APIClient()
        client.force_authenticate(staff_user)
        answers.append(client.get("/api/projects/P00003?force_sync=true").json()["data"]["stale"])

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert answers == [False] * 8
    assert detail_calls(remote) - before == 1


@pytest.mark.parametrize("client", ["anon_api", "field_api"])
def test_anonymous_and_field_users_get_nothing(synced, client, request):
    api = request.getfixturevalue(client)
    assert api.get("/api/projects/P00003").status_code in (401, 403)
    assert api.get("/api/projects/").status_code in (401, 403)


def test_staff_list_filters_by_type_status_and_change_time(synced, staff_api):
    everything = staff_api.get("/api/projects/?page_size=100").json()["data"]
    assert everything["count"] == 30
    sales = staff_api.get("/api/projects/?type=sales").json()["data"]
    assert sales["count"] == 10 and {row["type"] for row in sales["records"]} == {"sales"}
    status = everything["records"][0]["status"]
    by_status = staff_api.get(f"/api/projects/?status={status}&page_size=100").json()["data"]
    assert by_status["count"] == sum(1 for row in everything["records"] if row["status"] == status)
    assert staff_api.get("/api/projects/?changed_since=2999-01-01T00:00:00%2B08:00").json()["data"]["count"] == 0
    assert staff_api.get("/api/projects/?changed_since=yesterday").status_code == 400


def test_a_refresh_when_the_flight_key_refuses_but_reads_empty_still_calls_the_remote(synced, staff_api):
    """On the database cache, in the second after a refresh's outcome expires, add() still finds
    the key (it compares whole seconds) while get() reads nothing (it compares the exact time).
    Walked under `make run`: a refresh then answered stale ("timeout") without calling the remote.
    A key held with nothing in it, for two seconds, is that state on every cache backend."""
    from django.core.cache import cache

    synced.set_status("P00003", "paused")
    cache.set("projects:flight:main:P00003", None, timeout=2)
    calls = detail_calls(synced)
    data = staff_api.get("/api/projects/P00003?force_sync=true").json()["data"]
    assert (data["stale"], data["status"]) == (False, "paused")
    assert detail_calls(synced) == calls + 1
