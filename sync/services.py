"""Sync actions: sync one business day, and run, cancel, retry and resume batches of days.

Network I/O never happens inside a transaction: pages are fetched by worker threads while the
calling thread writes each page in its own short transaction. A batch is advanced one day per
background task; the task holds a lease on the batch row while it works, so two workers never
sync the same batch and a batch whose worker died is found (lease expired) and resumed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from sync.documents import DOCUMENT_SPECS, DocumentSpec
from sync.models import (
    ACTIVE_BATCH_STATUSES,
    UNFINISHED_DAY_STATUSES,
    BatchDayStatus,
    BatchStatus,
    BatchTrigger,
    DayStatus,
    SyncBatch,
    SyncBatchDay,
    SyncDay,
)

logger = logging.getLogger(__name__)

# How often a long day sync proves it is alive (extends its lease), at most.
HEARTBEAT_EVERY_S = 5.0
# Errors that are ours rather than the ERP's.
INTERNAL_ERROR = "internal_error"
INVALID_RECORD = "invalid_record"
# How many refused records a day's error message names (the count covers them all).
INVALID_RECORDS_NAMED = 10
DAY_BUSY = "day_busy"
WORKER_LOST = "worker_lost"
# A batch day whose worker died (or lost its lease) this many times is given up as failed, so
# a day that always kills its worker cannot keep its batch, and every other batch, waiting.
MAX_DAY_ATTEMPTS = 3


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


class NightlySyncFailed(Exception):
    """The nightly sync of yesterday failed; the message names the day and the ERP's error."""


def lease_seconds() -> float:
    return float(settings.SYNC_LEASE_S)


# --- One business day --------------------------------------------------------------------------


@dataclass
class DayResult:
    sync_date: date
    status: str  # "success" | "failed" | "skipped"
    total_records: int = 0
    success_count: int = 0
    failed_count: int = 0
    document_counts: dict[str, int] = field(default_factory=dict)
    duration_seconds: float = 0.0
    error_code: str = ""
    error_message: str = ""


# The one statement of the skip rule: a day whose latest sync succeeded is not synced again
# unless forced (the single-day API and every day claim go through it).
ALREADY_SYNCED = Q(status=DayStatus.SUCCESS)


def _already_synced(business_date: date, *, force: bool) -> bool:
    return not force and SyncDay.objects.filter(ALREADY_SYNCED, sync_date=business_date).exists()


def _claim_day(business_date: date, *, force: bool) -> str:
    """Mark the day `syncing` for us: "claimed", "skipped" (already synced) or "busy"."""
    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    claim = {
        "status": DayStatus.SYNCING,
        "start_time": now,
        "end_time": None,
        "duration_seconds": None,
        "error_code": "",
        "error_message": "",
        "updated_at": now,
    }
    try:
        with transaction.atomic():
            SyncDay.objects.create(sync_date=business_date, attempts=1, **claim)
        return "claimed"
    except IntegrityError:
        pass  # the day has a row already: take it over with a conditional UPDATE below
    claimable = SyncDay.objects.filter(sync_date=business_date).exclude(status=DayStatus.SYNCING, updated_at__gte=stale)
    if not force:
        claimable = claimable.exclude(ALREADY_SYNCED)
    if claimable.update(attempts=F("attempts") + 1, **claim):
        return "claimed"
    return "skipped" if _already_synced(business_date, force=force) else "busy"


def sync_day(*, business_date: date, force: bool = False, heartbeat: Callable[[], None] | None = None) -> DayResult:
    """Sync every declared document type of one business day; a success day is skipped unless `force`.

    The outcome is saved on the day's `SyncDay` row and returned. ERP failures are recorded, not
    raised; `heartbeat` is called now and then while pages are written (a batch extends its lease).
    """
    claim = _claim_day(business_date, force=force)
    if claim == "skipped":
        return DayResult(sync_date=business_date, status="skipped")
    if claim == "busy":
        return DayResult(
            sync_date=business_date,
            status="failed",
            error_code=DAY_BUSY,
            error_message=_("该日期正在被另一个任务同步"),
        )

    from yonyou.errors import YonyouError

    started = time.monotonic()
    result = DayResult(sync_date=business_date, status="success")
    last_beat = [started]

    beat_every = min(HEARTBEAT_EVERY_S, lease_seconds() / 3)  # well inside the lease

    def beat() -> None:
        if time.monotonic() - last_beat[0] < beat_every:
            return
        last_beat[0] = time.monotonic()
        SyncDay.objects.filter(sync_date=business_date).update(updated_at=timezone.now())
        if heartbeat is not None:
            heartbeat()

    try:
        from yonyou.client import get_client

        client = get_client()
        rejected: list[str] = []
        for spec in DOCUMENT_SPECS:
            fetched, written, errors = _sync_document_type(spec, business_date, client=client, beat=beat)
            result.total_records += fetched
            result.success_count += written
            result.failed_count += len(errors)
            result.document_counts[spec.doc_type] = written
            rejected += errors
        if rejected:
            # Records that cannot be stored are counted and named on the day, but do not fail
            # it: the rest of the day is stored, and a retry would meet the same records again.
            result.error_code = INVALID_RECORD
            result.error_message = _("%(count)s 条记录无法保存（其余记录已保存）：%(reasons)s") % {
                "count": len(rejected),
                "reasons": "; ".join(rejected[:INVALID_RECORDS_NAMED])
                + ("; …" if len(rejected) > INVALID_RECORDS_NAMED else ""),
            }
    except YonyouError as exc:
        result.status = "failed"
        result.error_code = exc.code
        result.error_message = exc.message
        logger.warning("sync day failed", extra={"sync_date": str(business_date), "error_code": exc.code})
    except Exception as exc:
        result.status = "failed"
        result.error_code = INTERNAL_ERROR
        result.error_message = f"{type(exc).__name__}: {exc}"[:2000]
        logger.exception("sync day crashed", extra={"sync_date": str(business_date)})
    result.duration_seconds = round(time.monotonic() - started, 3)
    _record_day(result)
    logger.info(
        "sync day finished",
        extra={
            "sync_date": str(business_date),
            "status": result.status,
            "records": result.success_count,
            "duration_s": result.duration_seconds,
        },
    )
    return result


def _record_day(result: DayResult) -> None:
    SyncDay.objects.filter(sync_date=result.sync_date).update(
        status=DayStatus.SUCCESS if result.status == "success" else DayStatus.FAILED,
        total_records=result.total_records,
        success_count=result.success_count,
        failed_count=result.failed_count,
        document_counts=result.document_counts,
        end_time=timezone.now(),
        duration_seconds=result.duration_seconds,
        error_code=result.error_code,
        error_message=result.error_message,
        updated_at=timezone.now(),
    )


def _sync_document_type(
    spec: DocumentSpec, business_date: date, *, client, beat: Callable[[], None]
) -> tuple[int, int, list[str]]:
    """Fetch every page of one type for the day and upsert it: (fetched, written, errors).

    Page 1 tells the page count; pages 2..N are fetched by at most SYNC_PAGE_CONCURRENCY threads
    while this thread writes whatever page has arrived, each in its own short transaction.
    """
    page_size = settings.SYNC_PAGE_SIZE
    write_batch = settings.SYNC_WRITE_BATCH_SIZE
    fetched = written = 0
    errors: list[str] = []

    def store(records: list[dict]) -> None:
        nonlocal fetched, written
        fetched += len(records)
        rows, bad = spec.rows(records)
        errors.extend(bad)
        with transaction.atomic():
            written += spec.upsert(rows, synced_at=timezone.now(), batch_size=write_batch)
        beat()

    def fetch(page_index: int):
        try:
            return _fetch_page(client, spec.doc_type, business_date, page_index=page_index, page_size=page_size)
        finally:
            # The client may touch the cache (a database table without Redis); this worker
            # thread's connection must not outlive the page.
            connections.close_all()

    first = _fetch_page(client, spec.doc_type, business_date, page_index=1, page_size=page_size)
    store(first.records)
    if first.page_count <= 1:
        return fetched, written, errors

    workers = max(1, min(settings.SYNC_PAGE_CONCURRENCY, first.page_count - 1))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"sync-{spec.doc_type}")
    try:
        pending: set[Future] = {pool.submit(fetch, index) for index in range(2, first.page_count + 1)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                store(future.result().records)  # a failed page raises here and ends the day
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return fetched, written, errors


def _fetch_page(client, doc_type: str, business_date: date, *, page_index: int, page_size: int):
    """One page, fetched again after a retryable failure (SYNC_PAGE_ATTEMPTS in all)."""
    from yonyou.errors import RetryableError

    attempts = max(1, settings.SYNC_PAGE_ATTEMPTS)
    for attempt in range(1, attempts + 1):
        try:
            return client.list_documents(
                doc_type=doc_type, business_date=business_date, page_index=page_index, page_size=page_size
            )
        except RetryableError as exc:
            if attempt == attempts:
                raise
            delay = settings.SYNC_PAGE_RETRY_BASE_S * 2 ** (attempt - 1)
            time.sleep(max(delay, min(exc.retry_after or 0.0, 60.0)))
    raise AssertionError("unreachable")


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
    return SyncBatch.objects.filter(status__in=ACTIVE_BATCH_STATUSES).first()


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
    if _already_synced(business_date, force=force):
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


def _create_batch(*, dates: list[date], force: bool, trigger: str, created_by) -> SyncBatch:
    try:
        with transaction.atomic():
            batch = SyncBatch.objects.create(
                start_date=dates[0],
                end_date=dates[-1],
                force=force,
                trigger=trigger,
                total_days=len(dates),
                created_by=created_by if created_by and created_by.is_authenticated else None,
            )
            SyncBatchDay.objects.bulk_create(SyncBatchDay(batch=batch, sync_date=day) for day in dates)
            transaction.on_commit(lambda: _enqueue_step(batch.pk))
    except IntegrityError:
        raise BatchAlreadyRunning(running_batch()) from None
    logger.info("sync batch queued", extra={"batch_id": batch.pk, "days": len(dates), "force": force})
    return batch


def _enqueue_step(batch_id: int) -> None:
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


def _claim_batch(batch_id: int) -> str | None:
    """Take the batch's lease if it is active and no live worker holds it; returns its token."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = (
        SyncBatch.objects.filter(pk=batch_id, status__in=ACTIVE_BATCH_STATUSES)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .update(lease_token=token, lease_expires_at=now + timedelta(seconds=lease_seconds()), heartbeat_at=now)
    )
    return token if claimed else None


def run_batch_step(*, batch_id: int) -> str:
    """Sync the batch's next unfinished day and record it; enqueue the next step if any remain.

    Returns what happened: "not_claimed" (finished, or another worker holds it), "cancelled",
    "finished", or the day's status. Safe to run twice: the lease admits one worker at a time.
    """
    token = _claim_batch(batch_id)
    if token is None:
        return "not_claimed"
    batch = SyncBatch.objects.get(pk=batch_id)
    if batch.cancel_requested:
        _finish_batch(batch_id, token, cancelled=True)
        return "cancelled"
    day = batch.days.filter(status__in=UNFINISHED_DAY_STATUSES).order_by("sync_date").first()
    if day is None:
        _finish_batch(batch_id, token)
        return "finished"

    now = timezone.now()
    with transaction.atomic():
        SyncBatchDay.objects.filter(pk=day.pk).update(
            status=BatchDayStatus.SYNCING, attempts=F("attempts") + 1, started_at=now, finished_at=None
        )
        SyncBatch.objects.filter(pk=batch_id, started_at__isnull=True).update(started_at=now)
        SyncBatch.objects.filter(pk=batch_id).update(status=BatchStatus.SYNCING, current_date=day.sync_date)

    def extend_lease() -> None:
        SyncBatch.objects.filter(pk=batch_id, lease_token=token).update(
            lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds()), heartbeat_at=timezone.now()
        )

    result = (
        _finished_before_crash(day)
        or _given_up_after_lost_workers(day)
        or sync_day(business_date=day.sync_date, force=batch.force, heartbeat=extend_lease)
    )
    if not record_batch_day(batch_id=batch_id, token=token, day_id=day.pk, result=result):
        logger.warning("sync batch lease lost; day left to its new holder", extra={"batch_id": batch_id})
        return "lease_lost"
    return result.status


def record_batch_day(*, batch_id: int, token: str, day_id: int, result: DayResult) -> bool:
    """Record a day's outcome on the batch, finish the batch or enqueue its next step.

    Refused (False, nothing written) when `token` no longer holds the batch's lease.
    """
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
            transaction.on_commit(lambda: _enqueue_step(batch_id))
    return True


def _finished_before_crash(day: SyncBatchDay) -> DayResult | None:
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


def _given_up_after_lost_workers(day: SyncBatchDay) -> DayResult | None:
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
    logger.info("sync batch finished", extra={"batch_id": batch_id, "status": status})


def cancel_batch(*, batch_id: int) -> SyncBatch:
    """Ask an active batch to stop after the day it is syncing; a batch not yet started stops now."""
    batch = SyncBatch.objects.get(pk=batch_id)
    if batch.status not in ACTIVE_BATCH_STATUSES:
        raise IllegalBatchTransition(_("批次已结束，无法取消"))
    SyncBatch.objects.filter(pk=batch_id, status__in=ACTIVE_BATCH_STATUSES).update(cancel_requested=True)
    # Nobody works on it right now (queued, or between two days): close it at once. A worker
    # that claims it later sees it finished and does nothing.
    token = _claim_batch(batch_id)
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
            transaction.on_commit(lambda: _enqueue_step(batch_id))
    except IntegrityError:
        raise BatchAlreadyRunning(running_batch()) from None
    batch.refresh_from_db()
    logger.info("sync batch retried", extra={"batch_id": batch_id})
    return batch


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
            transaction.on_commit(lambda batch_id=batch_id: _enqueue_step(batch_id))
            resumed.append(batch_id)
            logger.warning("sync batch resumed", extra={"batch_id": batch_id})
    return resumed


def sync_yesterday() -> DayResult:
    """The nightly sync: yesterday (local time), re-synced even if it was synced before."""
    return sync_day(business_date=timezone.localdate() - timedelta(days=1), force=True)
