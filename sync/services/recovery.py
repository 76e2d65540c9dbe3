"""Recovery after crashes: resume batches nobody is working on, take the outcome of a day whose
worker died after finishing it, and give up a day that kills its worker every time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sync.models import (
    ACTIVE_BATCH_STATUSES,
    BatchDayStatus,
    DayStatus,
    SyncBatch,
    SyncBatchDay,
    SyncDay,
)
from sync.services import batches
from sync.services.day import DayResult, lease_seconds

logger = logging.getLogger(__name__)

WORKER_LOST = "worker_lost"
# A batch day whose worker died (or lost its lease) this many times is given up as failed, so
# a day that always kills its worker cannot keep its batch, and every other batch, waiting.
MAX_DAY_ATTEMPTS = 3


def finished_before_crash(day: SyncBatchDay) -> DayResult | None:
    """The outcome of a day whose sync completed but whose worker died before the batch took note
    (the day row finished after this batch started the day): taken as is, not synced again."""
    if day.status != BatchDayStatus.SYNCING or day.started_at is None:
        return None
    done = SyncDay.objects.filter(
        sync_date=day.sync_date, status__in=(DayStatus.SUCCESS, DayStatus.FAILED), end_time__gte=day.started_at
    ).first()
    if done is None:
        return None
    return DayResult(
        sync_date=done.sync_date,
        status=done.status,
        total_records=done.total_records,
        success_count=done.success_count,
        failed_count=done.failed_count,
        document_counts=done.document_counts,
        duration_seconds=done.duration_seconds or 0.0,
        error_code=done.error_code,
        error_message=done.error_message,
    )


def given_up_after_lost_workers(day: SyncBatchDay) -> DayResult | None:
    """A failed outcome for a day left `syncing` by MAX_DAY_ATTEMPTS workers that never finished
    it; its day row, if no live worker holds it, records the failure too."""
    if day.status != BatchDayStatus.SYNCING or day.attempts < MAX_DAY_ATTEMPTS:
        return None
    message = _("同步该日期的工作进程已中断 %(count)s 次（超时或被终止），不再自动重试") % {"count": day.attempts}
    result = DayResult(sync_date=day.sync_date, status="failed", error_code=WORKER_LOST, error_message=message)
    stale = timezone.now() - timedelta(seconds=lease_seconds())
    SyncDay.objects.filter(sync_date=day.sync_date, status=DayStatus.SYNCING, updated_at__lt=stale).update(
        status=DayStatus.FAILED,
        end_time=timezone.now(),
        error_code=result.error_code,
        error_message=result.error_message,
        updated_at=timezone.now(),
    )
    logger.warning("sync batch day given up", extra={"sync_date": str(day.sync_date), "attempts": day.attempts})
    return result


def resume_interrupted_batches() -> list[int]:
    """Re-enqueue active batches nobody is working on: their worker died (lease expired) or
    their queued task was lost. The next step resumes at the first unfinished day."""
    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    interrupted = SyncBatch.objects.filter(status__in=ACTIVE_BATCH_STATUSES).filter(
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True, heartbeat_at__lt=stale)
    )
    resumed = []
    for batch_id in interrupted.values_list("pk", flat=True):
        # Clear the dead lease and touch the heartbeat, so the next sweep leaves the batch alone
        # until the step enqueued here had time to run; conditional, so two sweeps enqueue once.
        still_interrupted = SyncBatch.objects.filter(pk=batch_id, status__in=ACTIVE_BATCH_STATUSES).filter(
            Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True, heartbeat_at__lt=stale)
        )
        if still_interrupted.update(lease_token="", lease_expires_at=None, heartbeat_at=now):
            transaction.on_commit(lambda batch_id=batch_id: batches.enqueue_step(batch_id))
            resumed.append(batch_id)
            logger.warning("sync batch resumed", extra={"batch_id": batch_id})
    return resumed
