"""GET|POST /api/config/project-sync (the cron reaches the django-q2 schedule) and
/api/config/time-display (applied on the customer page); the cleanup jobs."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from alerts import services as scheduler
from projects import housekeeping, links
from projects.models import CustomerLink, Project, ProjectSyncConfig


def sync_schedule() -> Schedule:
    return scheduler.scheduled_job("sync_projects").schedule


def test_the_sync_config_shows_the_default_cron_in_words(db, staff_api):
    data = staff_api.get("/api/config/project-sync").json()["data"]
    assert (data["cron"], data["enabled"]) == ("*/15 * * * *", True)
    assert data["cron_description"] == "每 15 分钟"
    assert data["project_types"] == ["presales", "aftersales", "sales"]


def test_a_cron_change_reaches_the_schedule_without_a_restart(db, staff_api):
    response = staff_api.post(
        "/api/config/project-sync", {"cron": "*/5 * * * *", "notify_channels": ["wecom_app", "email"]}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["cron"], data["cron_description"], data["notify_channels"]) == (
        "*/5 * * * *",
        "每 5 分钟",
        ["wecom_app", "email"],
    )
    schedule = sync_schedule()
    assert schedule.cron == "*/5 * * * *" and schedule.next_run > timezone.now()
    # A later registration (deploy) keeps the staff's cron.
    scheduler.sync_schedules()
    assert sync_schedule().cron == "*/5 * * * *"


def test_disabling_the_sync_stops_its_schedule(db, staff_api):
    staff_api.post("/api/config/project-sync", {"enabled": False}, format="json")
    assert sync_schedule().repeats == 0
    assert staff_api.get("/api/config/project-sync").json()["data"]["enabled"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cron": "every minute"}, "cron"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"project_types": ["rental"]}, "project_types"),
        ({"sources": ["nowhere"]}, "sources"),
        ({"notify_channels": ["fax"]}, "notify_channels"),
        ({"enabled": "yes"}, "enabled"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_config_is_refused_in_chinese_and_changes_nothing(db, staff_api, body, field):
    before = sync_schedule().cron
    response = staff_api.post("/api/config/project-sync", {"notify_channels": ["sms"], **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert sync_schedule().cron == before
    assert ProjectSyncConfig.load().notify_channels == ["wecom_app", "sms", "email"]


def test_a_bad_cron_with_good_types_changes_neither(db, staff_api):
    response = staff_api.post("/api/config/project-sync", {"cron": "* * *", "project_types": ["sales"]}, format="json")
    assert response.status_code == 400 and "cron" in response.json()["message"]
    assert ProjectSyncConfig.load().project_types == ["presales", "aftersales", "sales"]


def test_absolute_time_display_is_applied_on_the_customer_page(synced, staff_api):
    response = staff_api.post(
        "/api/config/time-display", {"mode": "absolute", "format": "Y年n月j日 H:i"}, format="json"
    )
    assert response.json()["data"]["mode"] == "absolute"
    link = links.create_link(project=Project.objects.get(remote_id="P00001"))
    fetched = timezone.localtime(Project.objects.get(remote_id="P00001").fetched_at)
    page = Client().get(links.customer_path(link)).content.decode()
    assert f"数据更新于 {fetched.year}年{fetched.month}月{fetched.day}日 {fetched:%H:%M}" in page


def test_relative_time_display_says_minutes_ago(synced):
    Project.objects.filter(remote_id="P00001").update(fetched_at=timezone.now() - timedelta(minutes=7, seconds=5))
    link = links.create_link(project=Project.objects.get(remote_id="P00001"))
    assert "数据更新于 7 分钟前" in Client().get(links.customer_path(link)).content.decode()


def test_a_bad_time_display_is_refused(db, staff_api):
    assert staff_api.post("/api/config/time-display", {"mode": "lunar"}, format="json").status_code == 400
    assert staff_api.post("/api/config/time-display", {"format": "%Y"}, format="json").status_code == 400
    assert staff_api.post("/api/config/time-display", {}, format="json").status_code == 400
    assert ProjectSyncConfig.load().time_display == "relative"


@pytest.mark.parametrize("client", ["anon_api", "field_api"])
def test_only_staff_read_or_change_the_config(db, client, request):
    api = request.getfixturevalue(client)
    for path in ("/api/config/project-sync", "/api/config/time-display"):
        assert api.get(path).status_code in (401, 403)
        assert api.post(path, {"mode": "absolute"}, format="json").status_code in (401, 403)


def test_cleanup_deletes_long_deleted_projects_and_old_links_only(synced, settings):
    now = timezone.now()
    settings.PROJECTS_CACHE_RETENTION_DAYS = 30
    Project.objects.filter(remote_id="P00001").update(deleted_at=now - timedelta(days=31))
    Project.objects.filter(remote_id="P00002").update(deleted_at=now - timedelta(days=29))
    assert housekeeping.delete_expired_cache(now=now)["projects"] == 1
    assert set(Project.objects.filter(deleted_at__isnull=False).values_list("remote_id", flat=True)) == {"P00002"}

    project = Project.objects.get(remote_id="P00003")
    old = links.create_link(project=project)
    recent = links.create_link(project=project)
    CustomerLink.objects.filter(pk=old.pk).update(expires_at=now - timedelta(days=31))
    CustomerLink.objects.filter(pk=recent.pk).update(expires_at=now - timedelta(days=1))
    assert housekeeping.delete_expired_links(now=now) == 1
    assert list(CustomerLink.objects.values_list("pk", flat=True)) == [recent.pk]


def test_cleanup_jobs_are_registered_at_the_seed_times(db):
    from alerts.registry import get_job

    assert get_job("cleanup_project_cache").cron == "0 2 * * *"
    assert get_job("cleanup_customer_links").cron == "0 3 * * *"
    assert get_job("sync_projects").cron == "*/15 * * * *"
