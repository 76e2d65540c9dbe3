"""Sync one business day: claim its status row, fetch every page of every declared document type,
upsert it, and record the outcome on the row.

Network I/O never happens inside a transaction: pages are fetched by worker threads while the
calling thread writes each page in its own short transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sync.documents import DOCUMENT_SPECS, DocumentSpec
from sync.models import (
    DayStatus,
    SyncDay,
)
from sync.services.failure_texts import internal_failure_text, remote_failure_text

logger = logging.getLogger(__name__)

# How often a long day sync proves it is alive (extends its lease), at most.
HEARTBEAT_EVERY_S = 5.0
# Errors that are ours rather than the ERP's.
INTERNAL_ERROR = "internal_error"
INVALID_RECORD = "invalid_record"
# How many refused records a day's error message names (the count covers them all).
INVALID_RECORDS_NAMED = 10
DAY_BUSY = "day_busy"


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
    # A failure worth trying again later (the ERP's transient errors, a day another worker holds).
    retryable: bool = False
    retry_after: float | None = None


# The one statement of the skip rule: a day whose latest sync succeeded is not synced again
# unless forced (the single-day API and every day claim go through it).
ALREADY_SYNCED = Q(status=DayStatus.SUCCESS)


def already_synced(business_date: date, *, force: bool) -> bool:
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
    return "skipped" if already_synced(business_date, force=force) else "busy"


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
            retryable=True,
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
        result.error_message = remote_failure_text(code=exc.code, detail=exc.message)
        result.retryable = exc.retryable
        result.retry_after = exc.retry_after
        logger.warning("sync day failed", extra={"sync_date": str(business_date), "error_code": exc.code})
    except Exception as exc:
        result.status = "failed"
        result.error_code = INTERNAL_ERROR
        result.error_message = internal_failure_text(exc=exc)[:2000]
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
