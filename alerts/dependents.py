"""Jobs that depend on data: when a sync has refreshed some tables, every enabled job that declared
one of them in `reads=[...]` is queued once, so its alerts and reports follow the fresh data instead
of waiting for their next scheduled time.

The runs are ordinary `JobRun` rows (trigger `after_sync`) run by the same task as any other, under
the same overlap policy. A job that already has a run queued is not queued again: that run reads
the fresh data. A job that is running now may have read the data before the sync changed it, so
its after-sync run is created but held (no task) until the running one finishes: the overlap
policy would otherwise skip it. Whoever sees the other second releases it: the sync after its
commit when the job is no longer running, or the finishing run after its own status is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts import registry
from alerts.manual_runs import _enqueue_run
from alerts.models import JobRun, ScheduledJob

logger = logging.getLogger(__name__)


def jobs_reading(tables: Iterable[str]) -> list[registry.JobSpec]:
    """The registered jobs whose declared reads include one of `tables`, except those that also
    write one of them: those maintain the data (a sync, a cleanup) rather than depend on it, and
    queuing them would make a sync trigger itself."""
    wanted = set(tables)
    return [
        spec for spec in registry.all_jobs() if wanted.intersection(spec.reads) and not wanted.intersection(spec.writes)
    ]


def _disabled_job_ids(job_ids: list[str]) -> set[str]:
    """Jobs staff (or registration) disabled. A job with no schedule row yet counts as enabled:
    registration enables every new job."""
    rows = ScheduledJob.objects.filter(job_id__in=job_ids).select_related("schedule")
    return {row.job_id for row in rows if not row.enabled}


def run_jobs_reading(tables: Iterable[str], *, reason: str, now: datetime | None = None) -> list[JobRun]:
    """Queue one after-sync run of every enabled job reading one of `tables`; the tasks are
    enqueued when the caller's transaction commits. Returns the runs created."""
    now = now or timezone.now()
    specs = jobs_reading(tables)
    if not specs:
        return []
    job_ids = [spec.id for spec in specs]
    skipped = _disabled_job_ids(job_ids)
    skipped |= set(
        JobRun.objects.filter(job_id__in=job_ids, status=JobRun.Status.QUEUED)
        .values_list("job_id", flat=True)
        .distinct()
    )
    created = []
    for spec in specs:
        if spec.id in skipped:
            continue
        try:
            # A savepoint: losing the race to another sync that just queued this job (the
            # constraint `alerts_one_queued_after_sync_run`) must not break the caller's transaction.
            with transaction.atomic():
                run = JobRun.objects.create(
                    job_id=spec.id, trigger=JobRun.Trigger.AFTER_SYNC, queued_at=now, sla_s=spec.sla_s
                )
        except IntegrityError:
            continue
        transaction.on_commit(lambda run=run: _enqueue_unless_running(run))
        created.append(run)
    logger.info(
        "jobs queued after sync",
        extra={"reason": reason, "queued": [run.job_id for run in created], "not_queued": sorted(skipped)},
    )
    return created


def _is_running(job_id: str) -> bool:
    return JobRun.objects.filter(job_id=job_id, status=JobRun.Status.RUNNING).exists()


def _enqueue_unless_running(run: JobRun) -> None:
    # Checked after our row committed: a run finishing from here on sees the held row and
    # releases it (`release_held_runs`); one that finished before is no longer running here.
    if _is_running(run.job_id):
        logger.info("after-sync run held until the running one ends", extra={"job_id": run.job_id, "run_id": run.pk})
        return
    _enqueue_run(run.pk, run.job_id, run.trigger)


def release_held_runs(job_id: str) -> int:
    """Enqueue the after-sync runs of `job_id` held while it was running; called once a run of the
    job has written its final status. Enqueuing one twice is harmless: only one task claims it."""
    if _is_running(job_id):
        return 0
    held = list(
        JobRun.objects.filter(
            job_id=job_id, trigger=JobRun.Trigger.AFTER_SYNC, status=JobRun.Status.QUEUED, task_id=""
        ).values_list("pk", "trigger")
    )
    for run_id, trigger in held:
        _enqueue_run(run_id, job_id, trigger)
    return len(held)
