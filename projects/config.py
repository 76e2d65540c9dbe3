"""What staff change at runtime: the sync's cron and enabled flag (the `sync_projects` job's
django-q2 schedule, so a change reaches the scheduler without a restart), which types and sources
it syncs, status-change notifications, and how times are shown to customers."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from alerts import services as scheduler
from alerts.cron_words import describe_cron
from projects.models import ProjectSyncConfig, ProjectType

SYNC_JOB_ID = "sync_projects"
# The outbox channels that reach a subscriber in person (see projects.notifications).
CHANNELS = ("wecom_app", "sms", "email")
# Django date formats offered for absolute times on the customer page.
TIME_FORMATS = ("Y-m-d H:i", "Y/m/d H:i", "Y年n月j日 H:i", "n月j日 H:i")


class InvalidConfig(ValueError):
    """A value staff entered cannot be used; the message says which and why (in their language)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def sync_config() -> dict:
    config = ProjectSyncConfig.load()
    row = scheduler.scheduled_job(SYNC_JOB_ID)
    return {
        "cron": row.cron,
        "cron_description": describe_cron(row.cron),
        "default_cron": row.default_cron,
        "enabled": row.enabled,
        "next_run": row.next_run,
        "project_types": list(config.project_types),
        "sources": list(config.sources),
        "available_sources": list(settings.PROJECTS_SOURCES),
        "notify_status_change": config.notify_status_change,
        "notify_channels": list(config.notify_channels),
        "updated_at": config.updated_at,
    }


def update_sync_config(
    *,
    user=None,
    cron: str | None = None,
    enabled: bool | None = None,
    project_types: list[str] | None = None,
    sources: list[str] | None = None,
    notify_status_change: bool | None = None,
    notify_channels: list[str] | None = None,
) -> dict:
    """Validate everything first, then change the schedule and the config row in one transaction."""
    if project_types is not None:
        unknown = sorted(set(project_types) - set(ProjectType.values))
        if unknown or not project_types:
            raise InvalidConfig(
                "project_types",
                _("项目类型应为 %(choices)s 中的一个或多个") % {"choices": _choices(ProjectType.values)},
            )
    if sources is not None:
        unknown = sorted(set(sources) - set(settings.PROJECTS_SOURCES))
        if unknown:
            raise InvalidConfig("sources", _("没有这个数据源：%(names)s") % {"names": "、".join(unknown)})
    if notify_channels is not None:
        unknown = sorted(set(notify_channels) - set(CHANNELS))
        if unknown:
            raise InvalidConfig("notify_channels", _("通知渠道应为 %(choices)s") % {"choices": _choices(CHANNELS)})
    with transaction.atomic():
        if cron is not None or enabled is not None:
            try:
                scheduler.update_job_schedule(job_id=SYNC_JOB_ID, cron=cron, enabled=enabled, user=user)
            except scheduler.InvalidCron as exc:
                raise InvalidConfig("cron", str(exc)) from None
        config = ProjectSyncConfig.objects.select_for_update().get(pk=ProjectSyncConfig.load().pk)
        for name, value in {
            "project_types": project_types,
            "sources": sources,
            "notify_status_change": notify_status_change,
            "notify_channels": notify_channels,
        }.items():
            if value is not None:
                setattr(config, name, list(dict.fromkeys(value)) if isinstance(value, list) else value)
        config.updated_by = user if user is not None and user.is_authenticated else None
        config.save()
    return sync_config()


def time_display() -> dict:
    config = ProjectSyncConfig.load()
    return {"mode": config.time_display, "format": config.time_format, "formats": list(TIME_FORMATS)}


def update_time_display(*, mode: str | None = None, time_format: str | None = None, user=None) -> dict:
    if mode is not None and mode not in ProjectSyncConfig.TimeDisplay.values:
        raise InvalidConfig("mode", _("显示方式应为 relative（相对时间）或 absolute（绝对时间）"))
    if time_format is not None and time_format not in TIME_FORMATS:
        raise InvalidConfig("format", _("时间格式应为 %(choices)s") % {"choices": _choices(TIME_FORMATS)})
    with transaction.atomic():
        config = ProjectSyncConfig.objects.select_for_update().get(pk=ProjectSyncConfig.load().pk)
        if mode is not None:
            config.time_display = mode
        if time_format is not None:
            config.time_format = time_format
        config.updated_by = user if user is not None and user.is_authenticated else None
        config.save()
    return time_display()


def _choices(values) -> str:
    return "、".join(values)
