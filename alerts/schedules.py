"""Job schedules: the registry written into django-q2 `Schedule` rows (idempotently, keeping what
staff edited), and staff's runtime edits of a job's cron and enabled flag."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from croniter import croniter
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.models import Schedule

from alerts import registry
from alerts.cron_words import describe_cron
from alerts.models import JobRun, ScheduledJob

logger = logging.getLogger(__name__)

# Every `Schedule` row of the registry runs this task.
RUN_JOB_TASK = "alerts.tasks.run_job"


class InvalidCron(ValueError):
    """The cron expression staff entered is not valid."""


@dataclass
class RegistrationReport:
    created: list[str] = field(default_factory=list)
    default_updated: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)
    disabled_removed: list[str] = field(default_factory=list)
    re_enabled: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {name: list(value) for name, value in self.__dict__.items()}


def _local_now() -> datetime:
    return timezone.localtime(timezone.now())


@dataclass
class CronPreview:
    cron: str  # normalised, as it would be saved
    words: str
    next_runs: list[datetime]  # local time (Asia/Shanghai)


def checked_cron(expression: str) -> str:
    """The normalised expression, or InvalidCron with the reason in the staff member's language:
    the one check behind the page, the admin, the API and the preview."""
    normalised = " ".join(str(expression).split())
    if len(normalised.split(" ")) != 5:
        raise InvalidCron(_("cron 须为 5 个字段：分 时 日 月 周，例如 */5 * * * *"))
    try:
        return registry.validate_cron(normalised)
    except ValueError:
        raise InvalidCron(_("不是有效的 cron 表达式：%(cron)s") % {"cron": normalised}) from None


def preview_cron(expression: str, *, now: datetime | None = None, count: int = 3) -> CronPreview:
    """What a cron expression staff are typing means and when it would fire next, checked by the
    same rule as saving it; InvalidCron with a Chinese reason otherwise. Saves nothing."""
    normalised = checked_cron(expression)
    fires = croniter(normalised, timezone.localtime(now or timezone.now()))
    return CronPreview(
        cron=normalised, words=describe_cron(normalised), next_runs=[fires.get_next(datetime) for _ in range(count)]
    )


def next_fire_time(cron: str, *, after: datetime | None = None) -> datetime:
    """The next time `cron` fires after `after`, evaluated in the local time zone (Asia/Shanghai)."""
    base = timezone.localtime(after) if after else _local_now()
    return croniter(cron, base).get_next(datetime)


def _schedule_args(job_id: str) -> str:
    return repr((job_id, JobRun.Trigger.SCHEDULE.value))


def _new_schedule(job_id: str, cron: str, *, now: datetime) -> Schedule:
    schedule = Schedule.objects.create(
        name=job_id,
        func=RUN_JOB_TASK,
        args=_schedule_args(job_id),
        schedule_type=Schedule.CRON,
        cron=cron,
        repeats=-1,
    )
    # Schedule.save() computes a new row's next run from the clock; ours counts from `now`.
    schedule.next_run = next_fire_time(cron, after=now)
    Schedule.objects.filter(pk=schedule.pk).update(next_run=schedule.next_run)
    return schedule


@transaction.atomic
def sync_schedules(*, now: datetime | None = None) -> RegistrationReport:
    """Bring django-q2 schedules in line with the registry, idempotently.

    New jobs get a schedule with their default cron; jobs whose code is gone are disabled; a cron
    or enabled flag that staff changed at runtime is kept. A default changed in code replaces the
    old default only where staff had not edited it.
    """
    now = now or timezone.now()
    report = RegistrationReport()
    specs = {spec.id: spec for spec in registry.all_jobs()}
    existing = {
        row.job_id: row for row in ScheduledJob.objects.select_for_update(of=("self",)).select_related("schedule")
    }

    for job_id, spec in specs.items():
        default = registry.validate_cron(spec.cron)
        row = existing.get(job_id)
        if row is None:
            ScheduledJob.objects.create(
                job_id=job_id, schedule=_new_schedule(job_id, default, now=now), default_cron=default
            )
            report.created.append(job_id)
            continue
        _sync_existing(row, default, report, now=now)

    for job_id, row in existing.items():
        if job_id in specs or not row.in_registry:
            continue
        row.in_registry = False
        if row.enabled:
            row.schedule.repeats = 0
            row.schedule.save(update_fields=["repeats"])
            row.disabled_by_registry = True
        row.save(update_fields=["in_registry", "disabled_by_registry"])
        report.disabled_removed.append(job_id)

    if any(report.as_dict().values()):
        logger.info("job schedules registered", extra={"registration": report.as_dict()})
    return report


def _sync_existing(row: ScheduledJob, default: str, report: RegistrationReport, *, now: datetime) -> None:
    schedule = row.schedule
    if schedule is None:
        # Staff deleted the schedule row in the admin: start again from the default.
        row.schedule = _new_schedule(row.job_id, default, now=now)
        row.default_cron = default
        row.in_registry, row.disabled_by_registry = True, False
        row.save()
        report.created.append(row.job_id)
        return

    schedule_fields = set()
    expected = {"func": RUN_JOB_TASK, "args": _schedule_args(row.job_id), "schedule_type": Schedule.CRON}
    for name, value in expected.items():
        if getattr(schedule, name) != value:
            setattr(schedule, name, value)
            schedule_fields.add(name)

    edited = bool(schedule.cron) and schedule.cron != row.default_cron
    if edited:
        report.kept_edited.append(row.job_id)
    elif schedule.cron != default:
        schedule.cron = default
        schedule_fields.add("cron")
        report.default_updated.append(row.job_id)

    if not row.in_registry and row.disabled_by_registry and schedule.repeats == 0:
        schedule.repeats = -1
        schedule_fields.add("repeats")
        report.re_enabled.append(row.job_id)

    if schedule_fields & {"cron", "repeats", "schedule_type"}:
        schedule.next_run = next_fire_time(schedule.cron, after=now)
        schedule_fields.add("next_run")
    if schedule_fields:
        schedule.save(update_fields=sorted(schedule_fields))

    if (row.default_cron, row.in_registry, row.disabled_by_registry) != (default, True, False):
        row.default_cron, row.in_registry, row.disabled_by_registry = default, True, False
        row.save(update_fields=["default_cron", "in_registry", "disabled_by_registry"])


def scheduled_job(job_id: str) -> ScheduledJob:
    """The job's schedule row, registering the registry first if this job was never synced."""
    registry.get_job(job_id)  # raises UnknownJob
    row = ScheduledJob.objects.select_related("schedule").filter(job_id=job_id).first()
    if row is None or row.schedule is None:
        sync_schedules()
        row = ScheduledJob.objects.select_related("schedule").get(job_id=job_id)
    return row


@transaction.atomic
def update_job_schedule(
    *, job_id: str, cron: str | None = None, enabled: bool | None = None, user=None
) -> ScheduledJob:
    """Staff edit a job's cron and/or enabled flag at runtime; registration keeps the edit."""
    row = scheduled_job(job_id)
    schedule = Schedule.objects.select_for_update().get(pk=row.schedule_id)
    fields = set()
    if cron is not None:
        cron = checked_cron(cron)
        if cron != schedule.cron:
            schedule.cron = cron
            fields.add("cron")
    if enabled is not None and enabled != (schedule.repeats != 0):
        schedule.repeats = -1 if enabled else 0
        fields.add("repeats")
    if fields:
        # A re-enabled or re-timed job starts from the next future fire time: no burst of misses.
        schedule.next_run = next_fire_time(schedule.cron)
        schedule.save(update_fields=[*sorted(fields), "next_run"])
        row.edited_at, row.edited_by, row.disabled_by_registry = timezone.now(), user, False
        row.save(update_fields=["edited_at", "edited_by", "disabled_by_registry"])
        logger.info(
            "job schedule edited",
            extra={"job_id": job_id, "cron": schedule.cron, "enabled": schedule.repeats != 0, "user": str(user)},
        )
    row.schedule = schedule
    return row
