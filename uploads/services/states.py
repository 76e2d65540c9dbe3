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
from django.db.models import F, Q
from django.utils import timezone

from uploads.models import UploadRecord, UploadStatus
from uploads.services.slots import this_worker

logger = logging.getLogger(__name__)


class IllegalTransition(Exception):
    """The row is not in a state that allows this action."""


def start_attempt(record_id: int) -> str | None:
    """pending → uploading, under a fresh lease; None if another worker won or the row is not due."""
    now = timezone.now()
    token = secrets.token_hex(16)
    won = (
        UploadRecord.objects.alive()
        .filter(pk=record_id, status=UploadStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=UploadStatus.UPLOADING,
            uploading_at=now,
            lease_token=token,
            lease_holder=this_worker(),
            lease_expires_at=now + timedelta(seconds=settings.UPLOAD_LEASE_S),
            next_attempt_at=None,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    return token if won else None


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


def take_next_due(slot_token: str) -> tuple[int | None, str | None]:
    """For a worker holding a slot: move the oldest pending row that could start now to
    `uploading` (`start_attempt`, guarded). A row whose task is still on its way is taken too;
    that task then finds it no longer pending and skips. (None, None) when nothing is due."""
    from uploads.models import UploadSlot

    width = 2 * max(1, settings.YONYOU_MAX_CONCURRENCY)
    for _round in range(5):
        candidates = list(_due_now().order_by("id").values_list("pk", flat=True)[:width])
        if not candidates:
            return None, None
        # Among the oldest few, in random order: slot holders asking at once would otherwise all
        # race for the same row, each losing a round trip per holder ahead of it.
        random.shuffle(candidates)
        for record_id in candidates:
            lease = start_attempt(record_id)
            if lease is not None:
                UploadSlot.objects.filter(holder_token=slot_token).update(record_id=record_id)
                return record_id, lease
    return None, None
