"""The project system client against the sandbox over HTTP: pages, detail, typed errors."""

from datetime import UTC, datetime

import pytest

from projects.remote import ProjectNotFound, RemoteRejected, RemoteUnavailable, UnknownSource, get_remote


def test_list_pages_through_every_project_of_the_three_types(remote):
    client = get_remote()
    first = client.list_projects(source="main", page=1, page_size=12)
    assert (first.total, first.page_count, len(first.items)) == (30, 3, 12)
    last = client.list_projects(source="main", page=3, page_size=12)
    assert [item.remote_id for item in last.items][-1] == "P00030"
    assert {item.project_type for item in first.items} == {"presales", "aftersales", "sales"}


def test_updated_since_lists_only_projects_changed_after_it(remote):
    client = get_remote()
    remote.set_status("P00007", "completed")
    changed = client.list_projects(source="main", updated_since=datetime(2026, 6, 1, tzinfo=UTC))
    assert [item.remote_id for item in changed.items] == ["P00007"]


def test_detail_is_deterministic_and_follows_a_status_change(remote):
    client = get_remote()
    before = client.project_detail(source="main", remote_id="P00004")
    assert before == client.project_detail(source="main", remote_id="P00004")
    assert before["milestones"] and before["tasks"] and before["payment_plans"]
    remote.set_status("P00004", "paused")
    after = client.project_detail(source="main", remote_id="P00004")
    assert after["status"] == "paused" and after["updated_at"] != before["updated_at"]


def test_missing_project_is_project_not_found(remote):
    remote.control(delete=["P00002"])
    with pytest.raises(ProjectNotFound):
        get_remote().project_detail(source="main", remote_id="P00002")
    with pytest.raises(ProjectNotFound):
        get_remote().project_detail(source="main", remote_id="nope/../x")


@pytest.mark.parametrize("fault", [{"fail_rate": 1.0, "fail_status": 503}, {"reset_rate": 1.0}])
def test_server_errors_and_resets_are_retryable(remote, fault):
    remote.sandbox.faults(**fault)
    with pytest.raises(RemoteUnavailable) as caught:
        get_remote().project_detail(source="main", remote_id="P00001")
    assert caught.value.retryable


def test_a_hung_remote_is_a_retryable_timeout(remote):
    remote.sandbox.faults(hang_rate=1.0, hang_s=3)
    with pytest.raises(RemoteUnavailable) as caught:
        get_remote().project_detail(source="main", remote_id="P00001", timeout_s=0.3)
    assert caught.value.code == "timeout"


def test_a_wrong_api_key_is_rejected_for_good(remote, settings):
    settings.PROJECTS_SOURCES = {"main": {**settings.PROJECTS_SOURCES["main"], "api_key": "wrong"}}
    with pytest.raises(RemoteRejected) as caught:
        get_remote().list_projects(source="main")
    assert caught.value.code == "http_401" and not caught.value.retryable


def test_an_unknown_source_is_refused(remote):
    with pytest.raises(UnknownSource):
        get_remote().list_projects(source="elsewhere")
