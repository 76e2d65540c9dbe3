"""The admin: projects after a sync, a customer link made by staff with its QR code, the sync
history with its chart."""

import pytest
from django.test import Client

from projects import links
from projects.models import CustomerLink, Project, ProjectSyncRun


@pytest.fixture
def staff_browser(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def test_staff_see_the_projects_after_the_first_sync(synced, staff_browser):
    page = staff_browser.get("/admin/projects/project/")
    assert page.status_code == 200 and "P00001" in page.content.decode()
    project = Project.objects.get(remote_id="P00001")
    detail = staff_browser.get(f"/admin/projects/project/{project.pk}/change/")
    assert detail.status_code == 200 and project.milestones.first().name in detail.content.decode()


def test_staff_create_a_customer_link_in_the_admin_and_see_its_qr_code(synced, staff_browser, staff_user):
    project = Project.objects.get(remote_id="P00002")
    response = staff_browser.post(
        "/admin/projects/customerlink/add/", {"project": project.pk, "days": 14, "note": "客户甲"}
    )
    assert response.status_code == 302
    link = CustomerLink.objects.get()
    assert (link.project, link.created_by, link.note) == (project, staff_user, "客户甲")
    assert 13 <= (link.expires_at - link.created_at).days <= 14
    detail = staff_browser.get(f"/admin/projects/customerlink/{link.pk}/change/").content.decode()
    # The whole address, so the printed QR code opens the page on a customer's phone.
    url = "http://testserver" + links.customer_path(link)
    assert f"href='{url}'" in detail
    assert links.qr_svg(url) in detail


def test_an_over_long_link_is_refused_in_the_admin(synced, staff_browser):
    project = Project.objects.get(remote_id="P00002")
    response = staff_browser.post("/admin/projects/customerlink/add/", {"project": project.pk, "days": 9999})
    assert response.status_code == 200 and "有效天数" in response.content.decode()
    assert not CustomerLink.objects.exists()


def test_the_sync_history_shows_a_chart_of_recent_runs(synced, staff_browser):
    page = staff_browser.get("/admin/projects/projectsyncrun/").content.decode()
    assert "<svg" in page and f"#{ProjectSyncRun.objects.get().pk}" in page
