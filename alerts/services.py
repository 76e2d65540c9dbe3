"""Scheduler actions: registration into django-q2 schedules, runtime edits, triggering, running a
job under the overlap policy, and housekeeping of runs."""

from __future__ import annotations

import json
import logging
import socket
import time
import traceback as traceback_module
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from croniter import croniter
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.exceptions import TimeoutException
from django_q.models import Schedule

from alerts import registry
from alerts.models import DURATION_BUCKETS_S, JobRun, JobStats, ScheduledJob

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "alerts.tasks.run_job"
# A queued run that no worker claimed for this long is given up (its task was lost).
QUEUED_RUN_EXPIRY = timedelta(hours=6)
# Extra time after the cluster's task timeout before a still-running run is declared dead.
KILL_GRACE_S = 30
MAX_ERROR_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000
MAX_MISSED_COUNTED = 10_000
# What `_claim` answers when another delivery of the same task claimed the run first.
TAKEN_BY_ANOTHER_WORKER = -1


class InvalidCron(ValueError):
    """The cron expression staff entered is not valid."""


class IllegalRunTransition(RuntimeError):
    """A run cannot move to the requested state from the one it is in."""


class RunNotAllowed(PermissionError):
    """The user may not start runs by hand."""


# --- Registration ----------------------------------------------------------------------------


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
        try:
            cron = registry.validate_cron(cron)
        except ValueError as exc:
            raise InvalidCron(_("cron 表达式无效：%(reason)s") % {"reason": exc}) from None
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


# --- Triggering ------------------------------------------------------------------------------


# The permission that lets a user start a run by hand (granted to the staff group).
RUN_PERMISSION = "alerts.run_job"


def may_start_runs(user) -> bool:
    """The one rule for starting a run by hand, whatever the entry point (admin actions, run
    retry, API, page, `run_job` command). `user=None` is the operator of the host itself (the
    management command), who has every right already."""
    if user is None:
        return True
    return bool(user.is_active and user.has_perm(RUN_PERMISSION))


def _create_manual_run(*, job_id: str, user, retry_of: JobRun | None) -> tuple[registry.JobSpec, JobRun]:
    if not may_start_runs(user):
        raise RunNotAllowed(_("你没有手动运行任务的权限"))
    spec = registry.get_job(job_id)
    run = JobRun.objects.create(
        job_id=spec.id,
        trigger=JobRun.Trigger.RETRY if retry_of else JobRun.Trigger.MANUAL,
        triggered_by=user,
        retry_of=retry_of,
        sla_s=spec.sla_s,
    )
    return spec, run


def trigger_job(*, job_id: str, user, retry_of: JobRun | None = None) -> JobRun:
    """Queue a manual (or retry) run: a row now, the worker task once the transaction commits."""
    with transaction.atomic():
        spec, run = _create_manual_run(job_id=job_id, user=user, retry_of=retry_of)
        transaction.on_commit(lambda: _enqueue_run(run.pk, spec.id, run.trigger))
    logger.info("job run queued", extra={"job_id": spec.id, "run_id": run.pk, "trigger": run.trigger})
    return run


def run_job_here(*, job_id: str, user) -> JobRun:
    """Run a job by hand in this process (the `run_job` command), under the same rule and the same
    overlap policy as a queued run."""
    with transaction.atomic():
        _spec, run = _create_manual_run(job_id=job_id, user=user, retry_of=None)
    return execute_job(job_id=job_id, trigger=run.trigger, run_id=run.pk)


def retry_run(*, run: JobRun, user) -> JobRun:
    """Run a failed or timed-out job again, linked to the run it retries."""
    if run.status not in (JobRun.Status.FAILED, JobRun.Status.TIMEOUT):
        raise IllegalRunTransition(_("只能重试失败或超时的运行"))
    return trigger_job(job_id=run.job_id, user=user, retry_of=run)


def _enqueue_run(run_id: int, job_id: str, trigger: str) -> None:
    from django_q.tasks import async_task

    try:
        task_id = async_task(RUN_JOB_TASK, job_id, trigger, run_id, task_name=f"{job_id}#{run_id}", group=job_id)
    except Exception as exc:
        logger.exception("job run could not be enqueued", extra={"job_id": job_id, "run_id": run_id})
        _finish(
            run_id,
            job_id=job_id,
            status=JobRun.Status.FAILED,
            from_statuses=[JobRun.Status.QUEUED],
            error=_("无法放入任务队列：%(error)s") % {"error": f"{type(exc).__name__}: {exc}"},
        )
        return
    JobRun.objects.filter(pk=run_id).update(task_id=str(task_id or "")[:64])


# --- Running ---------------------------------------------------------------------------------


def execute_job(
    *, job_id: str, trigger: str = JobRun.Trigger.SCHEDULE, run_id: int | None = None, now: datetime | None = None
) -> JobRun | None:
    """Run one job under the overlap policy and record the outcome on its `JobRun` row.

    A scheduled start creates its row here, queued at `now`; a manual one arrives with the row
    queued by `trigger_job`. Safe to call twice for the same run: only the first call claims it.
    """
    now = now or timezone.now()
    try:
        spec = registry.get_job(job_id)
    except registry.UnknownJob:
        if run_id is not None:
            _finish(
                run_id,
                job_id=job_id,
                status=JobRun.Status.FAILED,
                from_statuses=[JobRun.Status.QUEUED],
                error=_("任务 %(job)s 已不存在于代码中") % {"job": job_id},
            )
        logger.error("unknown job", extra={"job_id": job_id, "run_id": run_id})
        return None

    expire_overdue_runs(job_id=job_id, now=now)
    if run_id is None:
        run = JobRun.objects.create(
            job_id=job_id,
            trigger=trigger,
            queued_at=now,
            sla_s=spec.sla_s,
            missed_runs=_missed_since_last_scheduled(job_id, now=now),
        )
    else:
        run = JobRun.objects.filter(pk=run_id).first()
        if run is None or run.status != JobRun.Status.QUEUED:
            logger.info("job run already handled", extra={"job_id": job_id, "run_id": run_id})
            return run

    holder = _claim(run)
    if holder == TAKEN_BY_ANOTHER_WORKER:
        logger.info("job run already handled", extra={"job_id": job_id, "run_id": run.pk})
        return run
    if holder is not None:
        _finish(
            run.pk,
            job_id=job_id,
            status=JobRun.Status.SKIPPED,
            from_statuses=[JobRun.Status.QUEUED],
            error=_("上一次运行 #%(run)s 仍在进行，本次跳过") % {"run": holder or "?"},
            result={"overlapped_run": holder},
        )
        run.refresh_from_db()
        logger.warning("job run skipped: already running", extra={"job_id": job_id, "run_id": run.pk})
        return run

    started = time.monotonic()
    try:
        summary = spec.func()
    except SystemExit as exc:
        # django-q2 interrupts a task at the cluster timeout by raising TimeoutException (a
        # SystemExit) inside it: record the timeout, then let the worker go on exiting. Any
        # other exit (a job calling sys.exit, a worker being stopped) is a failure.
        _finish(
            run.pk,
            job_id=job_id,
            status=JobRun.Status.TIMEOUT if isinstance(exc, TimeoutException) else JobRun.Status.FAILED,
            duration_s=time.monotonic() - started,
            error=_("运行被中止：%(error)s") % {"error": str(exc) or type(exc).__name__},
            traceback=traceback_module.format_exc(),
        )
        raise
    except Exception as exc:
        duration = time.monotonic() - started
        _finish(
            run.pk,
            job_id=job_id,
            status=JobRun.Status.FAILED,
            duration_s=duration,
            sla_exceeded=duration > spec.sla_s,
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback_module.format_exc(),
        )
    else:
        # A run that finished late still did its work: it stays a success (last-success gauge,
        # no retry offered) and only carries the SLA flag.
        duration = time.monotonic() - started
        _finish(
            run.pk,
            job_id=job_id,
            status=JobRun.Status.SUCCESS,
            duration_s=duration,
            sla_exceeded=duration > spec.sla_s,
            result=_json_summary(summary),
        )
    run.refresh_from_db()
    logger.info(
        "job run finished",
        extra={
            "job_id": job_id,
            "run_id": run.pk,
            "status": run.status,
            "trigger": run.trigger,
            "duration_ms": round((run.duration_s or 0) * 1000, 1),
        },
    )
    return run


def _claim(run: JobRun) -> int | None:
    """Move the run from queued to running. Returns None when claimed, TAKEN_BY_ANOTHER_WORKER
    when this very run was claimed by another delivery of its task, else the id of the run that
    holds the job (0 if it finished meanwhile)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = JobRun.objects.filter(pk=run.pk, status=JobRun.Status.QUEUED).update(
                status=JobRun.Status.RUNNING, started_at=now, host=socket.gethostname()[:200]
            )
    except IntegrityError:
        holder = (
            JobRun.objects.filter(job_id=run.job_id, status=JobRun.Status.RUNNING).values_list("pk", flat=True).first()
        )
        return holder or 0
    if not claimed:
        run.refresh_from_db()
        return TAKEN_BY_ANOTHER_WORKER
    run.status, run.started_at = JobRun.Status.RUNNING, now
    return None


def _finish(
    run_id: int,
    *,
    job_id: str,
    status: str,
    from_statuses=(JobRun.Status.RUNNING,),
    duration_s: float | None = None,
    sla_exceeded: bool = False,
    error: str = "",
    traceback: str = "",
    result: dict | None = None,
    now: datetime | None = None,
) -> bool:
    """Record a terminal status, only from the expected state, and count it in `JobStats`."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = JobRun.objects.filter(pk=run_id, status__in=list(from_statuses)).update(
            status=status,
            finished_at=now,
            duration_s=duration_s,
            sla_exceeded=sla_exceeded,
            error=str(error)[:MAX_ERROR_CHARS],
            traceback=traceback[-MAX_TRACEBACK_CHARS:],
            result=result,
        )
        if updated:
            _count_finished_run(job_id, status=status, duration_s=duration_s, sla_exceeded=sla_exceeded, now=now)
    return bool(updated)


def _count_finished_run(
    job_id: str, *, status: str, duration_s: float | None, sla_exceeded: bool, now: datetime
) -> None:
    stats, _created = JobStats.objects.select_for_update().get_or_create(job_id=job_id)
    setattr(stats, f"{status}_total", stats.count_for(status) + 1)
    if sla_exceeded:
        stats.sla_exceeded_total += 1
    if duration_s is not None:
        buckets = list(stats.duration_buckets or [])
        buckets += [0] * (len(DURATION_BUCKETS_S) - len(buckets))
        for index, bound in enumerate(DURATION_BUCKETS_S):
            if duration_s <= bound:
                buckets[index] += 1
        stats.duration_buckets = buckets[: len(DURATION_BUCKETS_S)]
        stats.duration_count += 1
        stats.duration_sum_s += duration_s
    if status == JobRun.Status.SUCCESS:
        stats.last_success_at = now
    stats.save()


def _json_summary(summary) -> dict | None:
    if summary is None:
        return None
    if not isinstance(summary, dict):
        summary = {"value": summary}
    try:
        return json.loads(json.dumps(summary, default=str))
    except (TypeError, ValueError):
        return {"value": repr(summary)[:MAX_ERROR_CHARS]}


def _missed_since_last_scheduled(job_id: str, *, now: datetime) -> int:
    """Fire times that passed without a scheduled run (cluster down, catch_up off)."""
    row = ScheduledJob.objects.select_related("schedule").filter(job_id=job_id).first()
    previous = (
        JobRun.objects.filter(job_id=job_id, trigger=JobRun.Trigger.SCHEDULE)
        .order_by("-queued_at")
        .values_list("queued_at", flat=True)
        .first()
    )
    if row is None or previous is None:
        return 0
    fires = croniter(row.cron, timezone.localtime(previous))
    count = 0
    while count <= MAX_MISSED_COUNTED:
        if fires.get_next(datetime) > now:
            break
        count += 1
    # The latest fire time is this run itself.
    return max(0, count - 1)


# --- Housekeeping ----------------------------------------------------------------------------


def hard_timeout_s() -> int:
    """After this long a task has certainly been stopped by the cluster."""
    return int(settings.Q_CLUSTER.get("timeout") or settings.Q_TASK_TIMEOUT_S)


def expire_overdue_runs(*, job_id: str | None = None, now: datetime | None = None) -> dict:
    """Close runs whose worker is gone: running past the cluster's task timeout (the worker was
    killed or lost) become timeout; queued runs never claimed become failed."""
    now = now or timezone.now()
    limit = hard_timeout_s()
    running = JobRun.objects.filter(
        status=JobRun.Status.RUNNING, started_at__lt=now - timedelta(seconds=limit + KILL_GRACE_S)
    )
    queued = JobRun.objects.filter(status=JobRun.Status.QUEUED, queued_at__lt=now - QUEUED_RUN_EXPIRY)
    if job_id is not None:
        running, queued = running.filter(job_id=job_id), queued.filter(job_id=job_id)
    timed_out = failed = 0
    hours = int(QUEUED_RUN_EXPIRY.total_seconds() // 3600)
    for run_id, run_job_id in running.values_list("pk", "job_id"):
        timed_out += _finish(
            run_id,
            job_id=run_job_id,
            status=JobRun.Status.TIMEOUT,
            duration_s=float(limit),
            error=_("运行超过 %(limit)s 秒仍未结束：工作进程已被终止或丢失") % {"limit": limit},
            now=now,
        )
    for run_id, run_job_id in queued.values_list("pk", "job_id"):
        failed += _finish(
            run_id,
            job_id=run_job_id,
            status=JobRun.Status.FAILED,
            from_statuses=[JobRun.Status.QUEUED],
            error=_("排队超过 %(hours)s 小时仍未被工作进程领取") % {"hours": hours},
            now=now,
        )
    if timed_out or failed:
        logger.warning("overdue job runs closed", extra={"timed_out": timed_out, "failed": failed, "job_id": job_id})
    return {"timed_out": timed_out, "failed": failed}


def delete_old_job_runs(*, retention_days: int | None = None, batch_size: int = 5_000) -> int:
    """Delete finished runs older than the retention, in batches (cumulative counters stay)."""
    days = settings.JOB_RUN_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = timezone.now() - timedelta(days=days)
    old = JobRun.objects.filter(queued_at__lt=cutoff, status__in=JobRun.FINISHED)
    deleted = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += JobRun.objects.filter(pk__in=ids).delete()[0]
