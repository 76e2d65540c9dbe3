"""Running a job: one `JobRun` row per run, claimed under the overlap policy (one running run per
job, on every host), finished by a conditional UPDATE from the state it was in, and closed when
its worker is gone; old finished runs are deleted after the retention."""

from __future__ import annotations

import json
import logging
import socket
import time
import traceback as traceback_module
from datetime import datetime, timedelta

from croniter import croniter
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.exceptions import TimeoutException

from alerts import registry
from alerts.models import JobRun, ScheduledJob
from alerts.run_stats import count_finished_run

logger = logging.getLogger(__name__)

# A queued run that no worker claimed for this long is given up (its task was lost).
QUEUED_RUN_EXPIRY = timedelta(hours=6)
# Extra time after the cluster's task timeout before a still-running run is declared dead.
KILL_GRACE_S = 30
MAX_ERROR_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000
MAX_MISSED_COUNTED = 10_000
# What `_claim` answers when another delivery of the same task claimed the run first.
TAKEN_BY_ANOTHER_WORKER = -1


class IllegalRunTransition(RuntimeError):
    """A run cannot move to the requested state from the one it is in."""


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
            finish_run(
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
        finish_run(
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
        finish_run(
            run.pk,
            job_id=job_id,
            status=JobRun.Status.TIMEOUT if isinstance(exc, TimeoutException) else JobRun.Status.FAILED,
            duration_s=time.monotonic() - started,
            error=_("运行被中止：%(error)s") % {"error": str(exc) or type(exc).__name__},
            traceback=traceback_module.format_exc(),
        )
        _release_held_runs(job_id)
        raise
    except Exception as exc:
        duration = time.monotonic() - started
        finish_run(
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
        finish_run(
            run.pk,
            job_id=job_id,
            status=JobRun.Status.SUCCESS,
            duration_s=duration,
            sla_exceeded=duration > spec.sla_s,
            result=_json_summary(summary),
        )
    run.refresh_from_db()
    _release_held_runs(job_id)
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


def _release_held_runs(job_id: str) -> None:
    # A sync that ended while this job ran held its after-sync run until now (alerts.dependents).
    from alerts.dependents import release_held_runs

    release_held_runs(job_id)


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


def finish_run(
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
            count_finished_run(job_id, status=status, duration_s=duration_s, sla_exceeded=sla_exceeded, now=now)
    return bool(updated)


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


# --- Runs whose worker is gone, and old runs --------------------------------------------------


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
    closed_jobs = set()
    for run_id, run_job_id in running.values_list("pk", "job_id"):
        closed_jobs.add(run_job_id)
        timed_out += finish_run(
            run_id,
            job_id=run_job_id,
            status=JobRun.Status.TIMEOUT,
            duration_s=float(limit),
            error=_("运行超过 %(limit)s 秒仍未结束：工作进程已被终止或丢失") % {"limit": limit},
            now=now,
        )
    for run_id, run_job_id in queued.values_list("pk", "job_id"):
        failed += finish_run(
            run_id,
            job_id=run_job_id,
            status=JobRun.Status.FAILED,
            from_statuses=[JobRun.Status.QUEUED],
            error=_("排队超过 %(hours)s 小时仍未被工作进程领取") % {"hours": hours},
            now=now,
        )
    for closed_job_id in closed_jobs:
        _release_held_runs(closed_job_id)
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
