"""What staff do to records: retry failed uploads, soft-delete."""

import logging
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from uploads.models import UploadRecord, UploadStatus
from uploads.services.dispatch import enqueue_uploads
from uploads.services.states import IllegalTransition

logger = logging.getLogger(__name__)


def retry_failed(record_ids: Iterable[int]) -> int:
    """failed → pending with a fresh retry horizon, enqueued on commit. Other states are left alone."""
    now = timezone.now()
    ids = list(record_ids)
    with transaction.atomic():
        retried = list(
            UploadRecord.objects.alive().filter(pk__in=ids, status=UploadStatus.FAILED).values_list("pk", flat=True)
        )
        UploadRecord.objects.filter(pk__in=retried, status=UploadStatus.FAILED).update(
            status=UploadStatus.PENDING,
            retry_count=0,
            gives_up_at=None,
            next_attempt_at=None,
            enqueued_at=now,
            updated_at=now,
        )
        transaction.on_commit(lambda: enqueue_uploads(retried))
    logger.info("failed uploads retried", extra={"records": retried})
    return len(retried)


def retry_one(record_id: int) -> None:
    if not retry_failed([record_id]):
        raise IllegalTransition(f"upload {record_id} is not failed")


def soft_delete(record_ids: Iterable[int]) -> int:
    """Hide records (`deleted_at`, as in the seed); the rows and files stay for audit."""
    now = timezone.now()
    return UploadRecord.objects.alive().filter(pk__in=list(record_ids)).update(deleted_at=now, updated_at=now)
