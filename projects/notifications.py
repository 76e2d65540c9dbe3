"""Status-change notifications: when a stored project's status changes, one outbox row per
subscriber (the owner, the customer's contacts) and channel the config names, written in the
transaction that stores the change, so a rolled-back write never notifies and a committed one
always does. The idempotency key names the change, so each change is announced once."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from alerts import outbox
from projects.models import CustomerLink, Project, ProjectChange, ProjectStatus, ProjectSyncConfig

# Channels that reach a person (a group robot reaches no subscriber of its own).
PERSON_CHANNELS = (outbox.Channel.WECOM_APP, outbox.Channel.SMS, outbox.Channel.EMAIL)


def owner_addresses(project: Project, channel: str) -> list[str]:
    return {
        outbox.Channel.WECOM_APP: [project.owner_wecom_userid],
        outbox.Channel.SMS: [project.owner_phone],
        outbox.Channel.EMAIL: [project.owner_email],
    }.get(channel, [])


def customer_addresses(project: Project, channel: str) -> list[str]:
    """Customer contacts are outside our WeCom: they are reached by SMS and email."""
    field = {outbox.Channel.SMS: "phone", outbox.Channel.EMAIL: "email"}.get(channel)
    return [str(contact.get(field) or "") for contact in project.customer_contacts] if field else []


def subscribers(project: Project, channel: str) -> list[str]:
    """The addresses on `channel` of the project's owner and its customer's contacts."""
    addresses = owner_addresses(project, channel) + customer_addresses(project, channel)
    return list(dict.fromkeys(address.strip() for address in addresses if address and address.strip()))


def _status_label(value: str) -> str:
    return str(dict(ProjectStatus.choices).get(value, value))


def _customer_link_path(project: Project) -> str:
    from django.utils import timezone

    from projects import links

    link = (
        CustomerLink.objects.filter(project=project, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-expires_at")
        .first()
    )
    return links.customer_path(link) if link else ""


def announce_status_change(*, project: Project, change: ProjectChange) -> int:
    """Write the outbox rows for one status change (call inside the storing transaction).

    The messages are in the site's language, whoever's request found the change: a refresh by a
    staff member reading in English must not send customers English."""
    config = ProjectSyncConfig.load()
    if not config.notify_status_change or "status" not in change.diff:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        return _write_messages(project=project, change=change, config=config)


def _write_messages(*, project: Project, change: ProjectChange, config: ProjectSyncConfig) -> int:
    before, after = change.diff["status"]
    title = _("项目状态变更：%(name)s") % {"name": project.name}
    text = _("项目「%(name)s」（%(id)s）状态由 %(before)s 变为 %(after)s。") % {
        "name": project.name,
        "id": project.remote_id,
        "before": _status_label(before),
        "after": _status_label(after),
    }
    owner_link = reverse("admin:projects_project_change", args=[project.pk])
    customer_link = _customer_link_path(project)
    written = 0
    for channel in config.notify_channels:
        if channel not in PERSON_CHANNELS:
            continue
        owners = set(owner_addresses(project, channel))
        for address in subscribers(project, channel):
            digest = hashlib.sha256(address.encode()).hexdigest()[:16]
            outbox.enqueue_notification(
                channel=channel,
                address=address,
                title=title,
                text=text,
                link=owner_link if address in owners else customer_link,
                idempotency_key=f"project-status:{change.pk}:{channel}:{digest}",
            )
            written += 1
    return written
