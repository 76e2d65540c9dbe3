"""Customer links: created and revoked by staff, signed, expiring; the customer's page and the API
with a link's token; expired, revoked and forged links show a clear page and no data."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from projects.models import CustomerLink, Project


@pytest.fixture
def link(synced, staff_api):
    response = staff_api.post("/api/projects/P00003/links", {"days": 7, "note": "发给客户"}, format="json")
    assert response.status_code == 201
    return response.json()["data"]


def test_staff_creates_a_link_with_token_url_expiry_and_qr_code(link, staff_api):
    assert link["project_id"] == "P00003" and link["state"] == "valid"
    assert link["url"].endswith(f"/p/{link['token']}/")
    qr = staff_api.get(f"/api/projects/links/{link['id']}/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content


def test_the_customer_page_shows_the_project_in_chinese(link):
    project = Project.objects.get(remote_id="P00003")
    page = Client().get(f"/p/{link['token']}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert project.name in html and project.get_status_display() in html
    assert "里程碑" in html and "付款节点" in html and "数据更新于" in html and "刷新" in html
    assert str(project.budget) not in html


def test_the_refresh_button_forces_a_sync_and_shows_the_new_status(link, synced):
    project = Project.objects.get(remote_id="P00003")
    new_status = "completed" if project.status != "completed" else "paused"
    synced.set_status("P00003", new_status)
    client = Client()

    response = client.post(f"/p/{link['token']}/refresh")

    assert response.status_code == 302 and "stale" not in response["Location"]
    project.refresh_from_db()
    assert project.status == new_status
    assert project.get_status_display() in client.get(response["Location"]).content.decode()


def test_refresh_with_the_remote_down_shows_the_cached_page_saying_so(link, synced):
    synced.sandbox.faults(fail_rate=1.0, fail_status=503)
    client = Client()
    response = client.post(f"/p/{link['token']}/refresh")
    assert response.status_code == 302 and response["Location"].endswith("?stale=1")
    page = client.get(response["Location"]).content.decode()
    assert "项目系统暂时无法访问" in page and Project.objects.get(remote_id="P00003").name in page


def test_the_api_with_a_link_token_answers_the_customer_view_only(link, anon_api):
    response = anon_api.get(f"/api/projects/P00003?token={link['token']}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == "P00003" and data["milestones"]
    assert not {"budget", "actual_cost", "tasks", "issues"} & set(data)


def test_a_token_for_another_project_gets_nothing(link, anon_api):
    response = anon_api.get(f"/api/projects/P00004?token={link['token']}")
    assert response.status_code == 403 and response.json()["code"] == "link_other_project"


def test_a_revoked_link_shows_a_clear_page_and_no_data(link, staff_api, anon_api):
    revoked = staff_api.delete(f"/api/projects/links/{link['id']}")
    assert revoked.status_code == 200 and revoked.json()["data"]["state"] == "revoked"
    assert staff_api.delete(f"/api/projects/links/{link['id']}").status_code == 409

    page = Client().get(f"/p/{link['token']}/")
    assert page.status_code == 410 and "链接已撤销" in page.content.decode()
    assert Project.objects.get(remote_id="P00003").name not in page.content.decode()
    api = anon_api.get(f"/api/projects/P00003?token={link['token']}")
    assert api.status_code == 403 and api.json()["code"] == "link_revoked"
    verify = anon_api.get(f"/api/projects/P00003/verify-access?token={link['token']}").json()["data"]
    assert (verify["valid"], verify["state"]) == (False, "revoked")


def test_an_expired_link_shows_a_clear_page_and_no_data(link, anon_api):
    CustomerLink.objects.filter(pk=link["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = Client().get(f"/p/{link['token']}/")
    assert page.status_code == 410 and "链接已过期" in page.content.decode()
    api = anon_api.get(f"/api/projects/P00003?token={link['token']}")
    assert api.status_code == 403 and api.json()["code"] == "link_expired"
    verify = anon_api.get(f"/api/projects/P00003/verify-access?token={link['token']}").json()["data"]
    assert (verify["valid"], verify["state"], verify["project_id"]) == (False, "expired", "P00003")


def test_verify_access_says_valid_and_for_which_project(link, anon_api):
    verify = anon_api.get(f"/api/projects/P00003/verify-access?token={link['token']}").json()["data"]
    assert (verify["valid"], verify["state"], verify["project_id"]) == (True, "valid", "P00003")
    assert anon_api.get("/api/projects/P00003/verify-access").status_code == 400


def test_a_forged_token_is_invalid(link, anon_api):
    forged = link["token"][:-2] + ("AA" if not link["token"].endswith("AA") else "BB")
    assert Client().get(f"/p/{forged}/").status_code == 404
    assert anon_api.get(f"/api/projects/P00003?token={forged}").json()["code"] == "link_invalid"
    assert anon_api.get(f"/api/projects/P00003/verify-access?token={forged}").json()["data"]["state"] == "invalid"


def test_a_link_longer_than_allowed_is_refused_and_nothing_is_created(synced, staff_api):
    response = staff_api.post("/api/projects/P00003/links", {"days": 10_000}, format="json")
    assert response.status_code == 400 and "有效天数" in response.json()["message"]
    assert not CustomerLink.objects.exists()


@pytest.mark.parametrize("client", ["anon_api", "field_api"])
def test_only_staff_create_or_revoke_links(link, client, request):
    api = request.getfixturevalue(client)
    assert api.post("/api/projects/P00003/links", {}, format="json").status_code in (401, 403)
    assert api.delete(f"/api/projects/links/{link['id']}").status_code in (401, 403)
    assert CustomerLink.objects.get(pk=link["id"]).revoked_at is None


def test_a_link_has_one_token_so_a_printed_qr_code_stays_the_link_shown_later(link, monkeypatch):
    import time

    from projects import links

    later = time.time() + 3600  # the admin shows the link an hour after it was printed
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    stored = CustomerLink.objects.get(pk=link["id"])
    assert links.token_for(stored) == link["token"]


def test_refusals_are_in_english_when_asked(link, anon_api):
    CustomerLink.objects.filter(pk=link["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = anon_api.get(f"/api/projects/P00003?token={link['token']}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"] == "The link has expired; ask the project owner for a new one"
