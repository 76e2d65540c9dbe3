"""A status change found by the sync (or a forced read) writes outbox rows for the project's
subscribers on the configured channels, once per change."""

from datetime import timedelta

from django.utils import timezone

from alerts.models import Notification
from projects import links, sync
from projects.models import Project, ProjectSyncConfig


def configure(**fields):
    config = ProjectSyncConfig.load()
    for name, value in fields.items():
        setattr(config, name, value)
    config.save()


def change_status(remote, remote_id: str) -> tuple[str, str]:
    before = Project.objects.get(remote_id=remote_id).status
    after = "completed" if before != "completed" else "paused"
    remote.set_status(remote_id, after)
    return before, after


def test_a_status_change_notifies_the_owner_and_the_customer_contacts(synced):
    configure(notify_channels=["email", "sms", "wecom_app"])
    project = Project.objects.get(remote_id="P00005")
    link = links.create_link(project=project)
    change_status(synced, "P00005")

    sync.sync_projects(mode="incremental", now=timezone.now() + timedelta(minutes=15))

    rows = {(row.channel, row.address): row for row in Notification.objects.all()}
    contact = project.customer_contacts[0]
    assert set(rows) == {
        ("email", project.owner_email),
        ("email", contact["email"]),
        ("sms", project.owner_phone),
        ("sms", contact["phone"]),
        ("wecom_app", project.owner_wecom_userid),
    }
    customer_row = rows[("email", contact["email"])]
    assert project.name in customer_row.title and "状态由" in customer_row.text
    assert customer_row.link == links.customer_path(link)
    assert rows[("email", project.owner_email)].link.startswith("/admin/projects/project/")


def test_out_of_the_box_a_status_change_is_sent_on_every_channel(synced):
    # Nothing configured: under `make run` the subscriber hears of it through the sandbox.
    change_status(synced, "P00005")

    sync.sync_projects(mode="incremental", now=timezone.now() + timedelta(minutes=15))

    assert set(Notification.objects.values_list("channel", flat=True)) == {"email", "sms", "wecom_app"}


def test_each_change_is_announced_once(synced):
    configure(notify_channels=["email"])
    change_status(synced, "P00005")
    sync.sync_projects(mode="incremental")
    first = Notification.objects.count()
    sync.sync_projects(mode="full")  # sees the same content again: no new change, no new message
    assert first == 2 and Notification.objects.count() == first


def test_a_forced_read_that_finds_a_new_status_notifies_too(synced, staff_api):
    configure(notify_channels=["sms"])
    change_status(synced, "P00006")
    assert staff_api.get("/api/projects/P00006?force_sync=true").status_code == 200
    assert Notification.objects.filter(channel="sms").count() == 2


def test_no_notification_when_turned_off_or_when_only_other_fields_change(synced):
    configure(notify_channels=["email"], notify_status_change=False)
    change_status(synced, "P00005")
    sync.sync_projects(mode="incremental")
    assert not Notification.objects.exists()

    configure(notify_status_change=True)
    same = Project.objects.get(remote_id="P00007").status
    synced.set_status("P00007", same)  # a new revision: progress, costs… move, the status does not
    run = sync.sync_projects(mode="incremental")
    assert run.updated == 1 and "status" not in run.changes.get(remote_id="P00007").diff
    assert not Notification.objects.exists()


def test_messages_are_in_the_site_language_whoever_found_the_change(synced, staff_api):
    configure(notify_channels=["email"])
    change_status(synced, "P00006")
    staff_api.get("/api/projects/P00006?force_sync=true", HTTP_ACCEPT_LANGUAGE="en")
    texts = {row.text for row in Notification.objects.all()}
    assert len(texts) == 1 and "状态由" in texts.pop()
