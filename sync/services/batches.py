"""Batches of days: start, advance one day per background task, finish, cancel and retry.

A batch is advanced one day per task; the task holds a lease on the batch row while it works, so
two workers never sync the same batch, and a batch whose worker died is found (lease expired) and
resumed by `sync.services.recovery`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.services import run_jobs_reading
from sync.documents import DOCUMENT_SPECS
from sync.models import (
    ACTIVE_BATCH_STATUSES,
    UNFINISHED_DAY_STATUSES,
    BatchDayStatus,
    BatchStatus,
    BatchTrigger,
    SyncBatch,
    SyncBatchDay,
)
from sync.services import day as day_sync
from sync.services import recovery, retries
from sync.services.day import DayResult, lease_seconds, sync_day

logger = logging.getLogger(__name__)


class SyncError(Exception):
    """A sync action refused; `message` is for the user (Chinese through gettext)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidBatchRange(SyncError):
    pass


class BatchAlreadyRunning(SyncError):
    def __init__(self, running: SyncBatch | None):
        self.running = running
        if running is None:
            message = _("已有批量同步任务正在运行，请等待其完成或先取消")
        else:
            message = _("已有批量同步任务正在运行（批次 #%(id)s，%(start)s 至 %(end)s），请等待其完成或先取消") % {
                "id": running.pk,
                "start": running.start_date,
                "end": running.end_date,
            }
        super().__init__(message)


class IllegalBatchTransition(SyncError):
    pass


# --- Batches -----------------------------------------------------------------------------------


def validate_range(*, start_date: date, end_date: date) -> int:
    """Number of days in the range, or InvalidBatchRange with a message for the user."""
    if start_date > end_date:
        raise InvalidBatchRange(_("开始日期不能晚于结束日期"))
    if end_date > timezone.localdate():
        raise InvalidBatchRange(_("结束日期不能晚于今天"))
    days = (end_date - start_date).days + 1
    limit = settings.SYNC_MAX_BATCH_DAYS
    if days > limit:
        raise InvalidBatchRange(_("日期范围不能超过 %(limit)s 天（当前 %(days)s 天）") % {"limit": limit, "days": days})
    return days


def running_batch() -> SyncBatch | None:
    """The active batch staff started (the nightly one runs beside it)."""
    return SyncBatch.objects.filter(status__in=ACTIVE_BATCH_STATUSES, active_marker=True).first()


def start_batch(
    *,
    start_date: date,
    end_date: date,
    force: bool = False,
    trigger: str = BatchTrigger.RANGE,
    created_by=None,
) -> SyncBatch:
    """Create a queued batch with one row per day and enqueue its first day once committed."""
    days = validate_range(start_date=start_date, end_date=end_date)
    dates = [start_date + timedelta(days=offset) for offset in range(days)]
    return _create_batch(dates=dates, force=force, trigger=trigger, created_by=created_by)


def start_date_sync(*, business_date: date, force: bool = False, created_by=None) -> SyncBatch | None:
    """A one-day batch for `business_date`, or None when the day is already synced and not forced."""
    if day_sync.already_synced(business_date, force=force):
        return None
    return start_batch(
        start_date=business_date, end_date=business_date, force=force, trigger=BatchTrigger.DATE, created_by=created_by
    )


def resync_days(*, dates: list[date], created_by=None) -> SyncBatch:
    """A forced batch over exactly these days (not the days between them), e.g. picked in the admin."""
    dates = sorted(set(dates))
    if not dates:
        raise InvalidBatchRange(_("请至少选择一个日期"))
    if dates[-1] > timezone.localdate():
        raise InvalidBatchRange(_("结束日期不能晚于今天"))
    limit = settings.SYNC_MAX_BATCH_DAYS
    if len(dates) > limit:
        raise InvalidBatchRange(
            _("日期范围不能超过 %(limit)s 天（当前 %(days)s 天）") % {"limit": limit, "days": len(dates)}
        )
    return _create_batch(dates=dates, force=True, trigger=BatchTrigger.ADMIN, created_by=created_by)


def _create_batch(*, dates: list[date], force: bool, trigger: str, created_by, enqueue: bool = True) -> SyncBatch:
    try:
        with transaction.atomic():
            batch = SyncBatch.objects.create(
                start_date=dates[0],
                end_date=dates[-1],
                force=force,
                trigger=trigger,
                total_days=len(dates),
                created_by=created_by if created_by and created_by.is_authenticated else None,
                # The nightly batch runs beside a staff batch; one of each may be active.
                active_marker=trigger != BatchTrigger.NIGHTLY,
            )
            SyncBatchDay.objects.bulk_create(SyncBatchDay(batch=batch, sync_date=day) for day in dates)
            if enqueue:
                transaction.on_commit(lambda: enqueue_step(batch.pk))
    except IntegrityError:
        raise BatchAlreadyRunning(running_batch()) from None
    logger.info("sync batch queued", extra={"batch_id": batch.pk, "days": len(dates), "force": force})
    return batch


def enqueue_step(batch_id: int) -> None:
    """Queue the batch's next step. A broker that cannot be reached does not fail the caller:
    the batch row is committed, keeps the error, and the recovery sweep enqueues it later."""
    from sync import tasks

    try:
        tasks.enqueue_batch_step(batch_id)
    except Exception as exc:
        logger.exception("sync batch step could not be enqueued", extra={"batch_id": batch_id})
        SyncBatch.objects.filter(pk=batch_id, status__in=ACTIVE_BATCH_STATUSES).update(
            error_message=_("无法放入任务队列，稍后将自动重试：%(error)s") % {"error": f"{type(exc).__name__}: {exc}"}
        )


def _release(batch_id: int, token: str, **changes) -> bool:
    """Give the lease back with `changes`, only if `token` still holds it (it may have expired
    and been taken over by another worker, whose work then counts instead)."""
    return bool(
        SyncBatch.objects.filter(pk=batch_id, lease_token=token).update(
            lease_token="", lease_expires_at=None, heartbeat_at=timezone.now(), **changes
        )
    )


def _claim_batch(batch_id: int, *, even_if_waiting: bool = False) -> str | None:
    """Take the batch's lease if it is active and no live worker holds it; returns its token.

    A batch waiting for a day's next attempt holds an empty-token lease until that time, so
    steps leave it alone until then; `even_if_waiting` takes it anyway (to cancel it).
    """
    now = timezone.now()
    token = uuid.uuid4().hex
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    if even_if_waiting:
        free |= Q(lease_token="")
    claimed = (
        SyncBatch.objects.filter(pk=batch_id, status__in=ACTIVE_BATCH_STATUSES)
        .filter(free)
        .update(lease_token=token, lease_expires_at=now + timedelta(seconds=lease_seconds()), heartbeat_at=now)
    )
    return token if claimed else None


def _wait_for_next_attempt(batch_id: int, token: str, *, until) -> None:
    """Give the lease back, kept closed until `until` (the earliest next attempt of a waiting
    day), and wake the batch then; if that wake-up is lost, the recovery sweep finds the lease
    expired and resumes the batch."""
    released = SyncBatch.objects.filter(pk=batch_id, lease_token=token).update(
        lease_token="", lease_expires_at=until, current_date=None, heartbeat_at=timezone.now()
    )
    if released:
        transaction.on_commit(lambda: schedule_step(batch_id, at=until))


def schedule_step(batch_id: int, *, at) -> None:
    """Run the batch's next step at `at` (django-q2 checks its schedules about every 30 s)."""
    from sync import tasks

    try:
        tasks.schedule_batch_step(batch_id, at=at)
    except Exception:
        logger.exception("sync batch wake-up could not be scheduled", extra={"batch_id": batch_id})


def run_batch_step(*, batch_id: int) -> str:
    """Sync the batch's next unfinished day and record it; enqueue the next step if any remain.

    Returns what happened: "not_claimed" (finished, or another worker holds it, or it waits for a
    day's next attempt), "cancelled", "finished", "waiting" (no day due yet), "retrying" (the day
    failed transiently and waits), or the day's status. Safe to run twice: the lease admits one
    worker at a time.
    """
    token = _claim_batch(batch_id)
    if token is None:
        return "not_claimed"
    batch = SyncBatch.objects.get(pk=batch_id)
    if batch.cancel_requested:
        _finish_batch(batch_id, token, cancelled=True)
        return "cancelled"
    now = timezone.now()
    due = Q(status__in=(BatchDayStatus.PENDING, BatchDayStatus.SYNCING)) | Q(
        status=BatchDayStatus.RETRYING, next_attempt_at__lte=now
    )
    day = batch.days.filter(due).order_by("sync_date").first()
    if day is None:
        waiting = batch.days.filter(status=BatchDayStatus.RETRYING).order_by("next_attempt_at").first()
        if waiting is None:
            _finish_batch(batch_id, token)
            return "finished"
        _wait_for_next_attempt(batch_id, token, until=waiting.next_attempt_at)
        return "waiting"

    with transaction.atomic():
        SyncBatchDay.objects.filter(pk=day.pk).update(
            status=BatchDayStatus.SYNCING,
            attempts=F("attempts") + 1,
            started_at=now,
            finished_at=None,
            next_attempt_at=None,
        )
        SyncBatch.objects.filter(pk=batch_id, started_at__isnull=True).update(started_at=now)
        SyncBatch.objects.filter(pk=batch_id).update(status=BatchStatus.SYNCING, current_date=day.sync_date)

    def extend_lease() -> None:
        SyncBatch.objects.filter(pk=batch_id, lease_token=token).update(
            lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds()), heartbeat_at=timezone.now()
        )

    result = (
        recovery.finished_before_crash(day)
        or recovery.given_up_after_lost_workers(day)
        or sync_day(business_date=day.sync_date, force=batch.force, heartbeat=extend_lease)
    )
    if not record_batch_day(batch_id=batch_id, token=token, day_id=day.pk, result=result):
        logger.warning("sync batch lease lost; day left to its new holder", extra={"batch_id": batch_id})
        return "lease_lost"
    day_waits = SyncBatchDay.objects.filter(pk=day.pk, status=BatchDayStatus.RETRYING)
    return "retrying" if result.status == "failed" and day_waits.exists() else result.status


def record_batch_day(*, batch_id: int, token: str, day_id: int, result: DayResult) -> bool:
    """Record a day's outcome on the batch, finish the batch or enqueue its next step.

    Refused (False, nothing written) when `token` no longer holds the batch's lease. A day that
    failed with a transient error waits to be tried again (`retrying`) while its horizon lasts.
    """
    if result.status == "failed" and result.retryable:
        planned = retries.next_attempt(day_id=day_id, retry_after=result.retry_after)
        if planned is not None:
            at, until = planned
            return _record_retry(batch_id=batch_id, token=token, day_id=day_id, result=result, at=at, until=until)
    counters = {
        "success": {"success_days": F("success_days") + 1},
        "failed": {"failed_days": F("failed_days") + 1},
        "skipped": {"skipped_days": F("skipped_days") + 1},
    }[result.status]
    with transaction.atomic():
        # Counted while still holding the lease: the lease is kept until the batch is finished.
        held = SyncBatch.objects.filter(pk=batch_id, lease_token=token).update(
            processed_days=F("processed_days") + 1,
            total_records=F("total_records") + result.success_count,
            heartbeat_at=timezone.now(),
            **counters,
        )
        if not held:
            return False
        SyncBatchDay.objects.filter(pk=day_id).update(
            status=result.status,
            records=result.success_count,
            failed_records=result.failed_count,
            finished_at=timezone.now(),
            duration_seconds=result.duration_seconds,
            error_code=result.error_code,
            error_message=result.error_message,
        )
        remaining = SyncBatchDay.objects.filter(batch_id=batch_id, status__in=UNFINISHED_DAY_STATUSES).exists()
        cancelled = SyncBatch.objects.filter(pk=batch_id, cancel_requested=True).exists()
        if cancelled or not remaining:
            _finish_batch(batch_id, token, cancelled=cancelled)
        else:
            _release(batch_id, token)
            transaction.on_commit(lambda: enqueue_step(batch_id))
    return True


def _record_retry(*, batch_id: int, token: str, day_id: int, result: DayResult, at, until) -> bool:
    """The day waits to be tried again at `at`, showing why; the batch goes on with other days."""
    now = timezone.now()
    with transaction.atomic():
        if not SyncBatch.objects.filter(pk=batch_id, lease_token=token).update(heartbeat_at=now):
            return False
        SyncBatchDay.objects.filter(pk=day_id).update(
            status=BatchDayStatus.RETRYING,
            next_attempt_at=at,
            retry_until=until,
            finished_at=now,
            duration_seconds=result.duration_seconds,
            error_code=result.error_code,
            error_message=result.error_message,
        )
        if SyncBatch.objects.filter(pk=batch_id, cancel_requested=True).exists():
            _finish_batch(batch_id, token, cancelled=True)
        else:
            _release(batch_id, token)
            transaction.on_commit(lambda: enqueue_step(batch_id))
    logger.warning(
        "sync batch day will be retried",
        extra={"batch_id": batch_id, "error_code": result.error_code, "next_attempt_at": at.isoformat()},
    )
    return True


def _finish_batch(batch_id: int, token: str, *, cancelled: bool = False) -> None:
    """Close an active batch whose lease `token` holds: cancelled, or success/partial/failed."""
    with transaction.atomic():
        batch = SyncBatch.objects.get(pk=batch_id)
        if batch.status not in ACTIVE_BATCH_STATUSES:
            return
        now = timezone.now()
        if cancelled:
            batch.days.filter(status__in=UNFINISHED_DAY_STATUSES).update(
                status=BatchDayStatus.CANCELLED, finished_at=now
            )
            status = BatchStatus.CANCELLED
        elif batch.failed_days == 0:
            status = BatchStatus.SUCCESS
        elif batch.success_days + batch.skipped_days > 0:
            status = BatchStatus.PARTIAL
        else:
            status = BatchStatus.FAILED
        error = ""
        if batch.failed_days:
            first_failure = batch.days.filter(status=BatchDayStatus.FAILED).order_by("sync_date").first()
            error = _("%(count)s 天同步失败，首个失败日期 %(date)s：%(error)s") % {
                "count": batch.failed_days,
                "date": first_failure.sync_date if first_failure else "-",
                "error": first_failure.error_message if first_failure else "",
            }
        worked = (now - batch.started_at).total_seconds() if batch.started_at else 0.0
        if not _release(
            batch_id,
            token,
            status=status,
            finished_at=now,
            current_date=None,
            duration_seconds=F("duration_seconds") + round(worked, 3),
            error_message=error,
        ):
            return
        if status == BatchStatus.SUCCESS and batch.success_days:
            # Every declared type of each day was refreshed: the jobs reading them run now, not
            # at their next scheduled time (queued with this commit).
            run_jobs_reading(
                [spec.model._meta.db_table for spec in DOCUMENT_SPECS],
                reason=f"sync batch #{batch_id} ({batch.start_date}..{batch.end_date}) success",
                now=now,
            )
    logger.info("sync batch finished", extra={"batch_id": batch_id, "status": status})


def cancel_batch(*, batch_id: int) -> SyncBatch:
    """Ask an active batch to stop after the day it is syncing; a batch not yet started stops now."""
    batch = SyncBatch.objects.get(pk=batch_id)
    if batch.status not in ACTIVE_BATCH_STATUSES:
        raise IllegalBatchTransition(_("批次已结束，无法取消"))
    SyncBatch.objects.filter(pk=batch_id, status__in=ACTIVE_BATCH_STATUSES).update(cancel_requested=True)
    # Nobody works on it right now (queued, or between two days): close it at once. A worker
    # that claims it later sees it finished and does nothing.
    token = _claim_batch(batch_id, even_if_waiting=True)
    if token:
        _finish_batch(batch_id, token, cancelled=True)
    batch.refresh_from_db()
    logger.info("sync batch cancel requested", extra={"batch_id": batch_id, "status": batch.status})
    return batch


def retry_batch(*, batch_id: int) -> SyncBatch:
    """Run a finished batch again over the days that did not succeed (failed or cancelled)."""
    try:
        with transaction.atomic():
            batch = SyncBatch.objects.select_for_update().get(pk=batch_id)
            if batch.status not in (BatchStatus.PARTIAL, BatchStatus.FAILED, BatchStatus.CANCELLED):
                raise IllegalBatchTransition(_("只有部分失败、失败或已取消的批次可以重试"))
            again = batch.days.filter(status__in=(BatchDayStatus.FAILED, BatchDayStatus.CANCELLED))
            failed = again.filter(status=BatchDayStatus.FAILED).aggregate(days=Count("pk"), records=Sum("records"))
            again.update(
                status=BatchDayStatus.PENDING,
                # A retry is a fresh start: the lost workers of the earlier run do not count
                # towards giving the day up again.
                attempts=0,
                next_attempt_at=None,
                retry_until=None,
                records=0,
                failed_records=0,
                error_code="",
                error_message="",
                started_at=None,
                finished_at=None,
            )
            SyncBatch.objects.filter(pk=batch_id).update(
                status=BatchStatus.QUEUED,
                processed_days=F("processed_days") - failed["days"],
                # A day that failed midway counted what it had written; its re-run counts it again.
                total_records=F("total_records") - (failed["records"] or 0),
                failed_days=0,
                cancel_requested=False,
                attempts=F("attempts") + 1,
                started_at=None,
                finished_at=None,
                error_message="",
                lease_token="",
                lease_expires_at=None,
                heartbeat_at=timezone.now(),
            )
            transaction.on_commit(lambda: enqueue_step(batch_id))
    except IntegrityError:
        raise BatchAlreadyRunning(running_batch()) from None
    batch.refresh_from_db()
    logger.info("sync batch retried", extra={"batch_id": batch_id})
    return batch


def sync_yesterday() -> SyncBatch:
    """The nightly sync: yesterday (local time), forced (the day just closed may have changed since
    an earlier sync), as a one-day batch of its own whose first attempt runs in the caller. A
    transient failure is then retried by the batch like any other day's."""
    yesterday = timezone.localdate() - timedelta(days=1)
    batch = _create_batch(dates=[yesterday], force=True, trigger=BatchTrigger.NIGHTLY, created_by=None, enqueue=False)
    run_batch_step(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch
