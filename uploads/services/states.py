"""The state machine of an `UploadRecord`; every transition is one guarded UPDATE, so two workers
can never both win:

    pending ──start_attempt──► uploading ──► success
       ▲                           │
       └──── retryable failure ────┤ (next_attempt_at = now + backoff)
                                   └──► failed  (permanent error, or UPLOAD_RETRY_HORIZON_S passed)

`next_attempt_at` says when a pending row next needs a task: set by a retryable failure (backoff),
by a task that found every concurrency slot taken, and by recovery.
"""

import logging
import random
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from uploads.models import UploadRecord, UploadStatus
from uploads.services.slots import this_worker

logger = logging.getLogger(__name__)


class IllegalTransition(Exception):
    """The row is not in a state that allows this action."""


def start_attempt(record_id: int) -> str | None:
    """pending → uploading, under a fresh lease; None if another worker won or the row is not due."""
    record = begin_attempt(record_id)
    return record.lease_token if record is not None else None


# What a delivery attempt reads of its row, loaded by the statement that claims it (in the model's
# column order, as `Model.from_db` wants them).
_ATTEMPT_READS = {"id", "business_id", "doc_number", "doc_type", "file_name", "local_file_path", "attempts"}
_ATTEMPT_READS.add("lease_token")
ATTEMPT_FIELDS = tuple(f.column for f in UploadRecord._meta.concrete_fields if f.column in _ATTEMPT_READS)


def begin_attempt(record_id: int | None = None) -> UploadRecord | None:
    """pending → uploading under a fresh lease, for `record_id`, or with None for the oldest pending
    row that could start now (due, or with a task still on its way, which then finds it taken and
    skips). One statement claims the row and returns what the attempt needs (`ATTEMPT_FIELDS`, the
    rest deferred): between two calls on one slot, the database is asked once, not three times.
    None if another worker won, or nothing is due."""
    claimed = _claim_attempts(record_id=record_id, limit=1)
    return claimed[0] if claimed else None


def begin_attempts(*, limit: int) -> list[UploadRecord]:
    """The `limit` oldest pending rows that could start now, each moved to `uploading` as
    `begin_attempt` does, in one statement: for a worker that took several slots at once."""
    return _claim_attempts(record_id=None, limit=limit) if limit > 0 else []


def _claim_attempts(*, record_id: int | None, limit: int) -> list[UploadRecord]:
    now = timezone.now()
    # One lease token for the rows of one claim: a lease is always checked with its row's id, so
    # it only has to differ from the row's other attempts.
    token = secrets.token_hex(16)
    ops = connection.ops
    table = ops.quote_name(UploadRecord._meta.db_table)
    when = ops.adapt_datetimefield_value(now)
    due = "status = %s AND deleted_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= %s)"
    due_params = [UploadStatus.PENDING, when]
    if record_id is None:
        # SQLite runs the whole statement under its one write lock; on PostgreSQL, workers asking at
        # once each lock different rows instead of queueing behind the first one's. The choice is
        # a materialized CTE: PostgreSQL may run a `WHERE id IN (SELECT … LIMIT n)` subquery more
        # than once in one UPDATE, and so claim more than n rows.
        skip_locked = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
        chosen = f"WITH chosen AS MATERIALIZED (SELECT id FROM {table} WHERE {due} ORDER BY id LIMIT %s{skip_locked}) "  # noqa: S608 (our names; values as params)
        target, target_params = "IN (SELECT id FROM chosen)", []
        chosen_params = [*due_params, limit]
    else:
        chosen, chosen_params = "", []
        target, target_params = "= %s", [record_id]
    columns = ", ".join(ATTEMPT_FIELDS)
    claim = (
        "status = %s, uploading_at = %s, lease_token = %s, lease_holder = %s, lease_expires_at = %s, "
        "next_attempt_at = NULL, attempts = attempts + 1, updated_at = %s"
    )
    # Our own table and column names; every value is a parameter.
    sql = f"{chosen}UPDATE {table} SET {claim} WHERE id {target} AND {due} RETURNING {columns}"  # noqa: S608
    expires = ops.adapt_datetimefield_value(now + timedelta(seconds=settings.UPLOAD_LEASE_S))
    claim_params = [UploadStatus.UPLOADING, when, token, this_worker(), expires, when]
    params = [*chosen_params, *claim_params, *target_params, *due_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # RETURNING gives no order: the oldest first, as they were chosen.
    return sorted((UploadRecord.from_db(connection.alias, ATTEMPT_FIELDS, row) for row in rows), key=lambda r: r.pk)


def mark_success(record_id: int, *, yonyou_file_id: str, duration_ms: int | None = None) -> bool:
    """uploading (or pending again after a recovery) → success. The file is in the cloud either way."""
    now = timezone.now()
    return bool(
        UploadRecord.objects.filter(pk=record_id, status__in=[UploadStatus.UPLOADING, UploadStatus.PENDING]).update(
            status=UploadStatus.SUCCESS,
            yonyou_file_id=yonyou_file_id,
            succeeded_at=now,
            lease_token=None,
            lease_expires_at=None,
            next_attempt_at=None,
            error_code=None,
            error_message=None,
            last_attempt_ms=duration_ms,
            updated_at=now,
        )
    )


def mark_failed(record_id: int, lease_token: str, *, code: str, message: str, duration_ms: int | None = None) -> bool:
    """uploading → failed: a permanent error, or transient ones past the retry horizon."""
    now = timezone.now()
    failed = bool(
        UploadRecord.objects.filter(pk=record_id, status=UploadStatus.UPLOADING, lease_token=lease_token).update(
            status=UploadStatus.FAILED,
            failed_at=now,
            error_code=code[:50],
            error_message=message,
            lease_token=None,
            lease_expires_at=None,
            last_attempt_ms=duration_ms,
            updated_at=now,
        )
    )
    if failed:
        upload_failed_for_good(record_id, code=code, message=message)
    return failed


def upload_failed_for_good(record_id: int, *, code: str, message: str) -> None:
    """The one place where an upload is given up on (and only staff can send it again): its
    document's `upload_failed` alert is raised now rather than at the rule's next evaluation.
    Called once per transition to `failed`. The record is already failed; an alerting error must
    not undo that (the evaluation raises the alert a minute later)."""
    logger.error("upload failed for good", extra={"record_id": record_id, "error_code": code, "error": message})
    from uploads.alert_rules import upload_failed_for_good as raise_upload_failed_alert

    try:
        raise_upload_failed_alert(record_id=record_id)
    except Exception:
        logger.exception("could not raise the upload_failed alert", extra={"record_id": record_id})


def retry_delay_s(retry_number: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (half fixed, half random), never shorter than Retry-After."""
    ceiling = min(settings.UPLOAD_RETRY_MAX_S, settings.UPLOAD_RETRY_BASE_S * 2 ** max(0, retry_number - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not security)
    return max(delay, retry_after or 0.0)


def mark_retry_or_failed(
    record_id: int, lease_token: str, *, code: str, message: str, retry_after: float | None, duration_ms: int | None
) -> str:
    """After a transient failure: back to pending with a backoff, until UPLOAD_RETRY_HORIZON_S has
    passed since the first transient failure; then failed. The last attempt is made at the horizon."""
    now = timezone.now()
    record = UploadRecord.objects.get(pk=record_id)
    gives_up_at = record.gives_up_at or now + timedelta(seconds=settings.UPLOAD_RETRY_HORIZON_S)
    if now >= gives_up_at:
        mark_failed(record_id, lease_token, code=code, message=message, duration_ms=duration_ms)
        return UploadStatus.FAILED
    retry_number = record.retry_count + 1
    next_attempt_at = min(now + timedelta(seconds=retry_delay_s(retry_number, retry_after)), gives_up_at)
    UploadRecord.objects.filter(pk=record_id, status=UploadStatus.UPLOADING, lease_token=lease_token).update(
        status=UploadStatus.PENDING,
        retry_count=retry_number,
        gives_up_at=gives_up_at,
        error_code=code[:50],
        error_message=message,
        next_attempt_at=next_attempt_at,
        lease_token=None,
        lease_expires_at=None,
        last_attempt_ms=duration_ms,
        updated_at=now,
    )
    return UploadStatus.PENDING


def mark_waiting_for_slot(record_id: int) -> None:
    """Every slot is busy: the row is due now, for whoever frees a slot (or the sweep) to dispatch."""
    UploadRecord.objects.filter(pk=record_id, status=UploadStatus.PENDING, next_attempt_at__isnull=True).update(
        next_attempt_at=timezone.now()
    )


def _due_now():
    now = timezone.now()
    return (
        UploadRecord.objects.alive()
        .filter(status=UploadStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


def due_count(*, limit: int) -> int:
    """How many pending rows could start now (up to `limit`): due, or with a task on its way."""
    return len(_due_now().values_list("pk", flat=True)[:limit])


def take_next_due() -> UploadRecord | None:
    """For a worker holding a slot: the oldest pending row that could start now, moved to
    `uploading` and loaded (`begin_attempt`); None when nothing is due."""
    return begin_attempt(None)
