"""Handing rows to the workers: enqueue after commit, fan out a request's files, and dispatch
the pending rows whose `next_attempt_at` has come."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from uploads.models import UploadRecord, UploadStatus

logger = logging.getLogger(__name__)

UPLOAD_TASK = "uploads.tasks.upload_record"
FAN_OUT_TASK = "uploads.tasks.enqueue_uploads"


def enqueue_fan_out(record_ids: list[int]) -> None:
    """Enqueue one task that enqueues the uploads of `record_ids` (see `enqueue_uploads`)."""
    from django_q.tasks import async_task

    if len(record_ids) == 1:
        enqueue_uploads(record_ids)
        return
    try:
        async_task(FAN_OUT_TASK, record_ids, group="uploads")
    except Exception:
        logger.exception("could not enqueue uploads", extra={"records": record_ids})


def enqueue_uploads(record_ids: Iterable[int]) -> None:
    """Hand rows to the workers. A broker failure is logged, not raised: the rows are safe and the
    recovery job enqueues them again once they have been pending too long."""
    from django_q.tasks import async_task

    for record_id in record_ids:
        try:
            async_task(UPLOAD_TASK, record_id, group="uploads")
        except Exception:
            logger.exception("could not enqueue upload", extra={"record_id": record_id})


def dispatch_due_uploads(*, limit: int = 200) -> int:
    """Enqueue pending rows whose `next_attempt_at` has come, at most one per concurrency slot: a
    task that gets a slot takes the other due rows itself (`delivery`), so more tasks would only
    find every slot busy, and cost the workers a run each. Each row is taken by a conditional
    UPDATE (next_attempt_at → NULL), so two dispatchers never enqueue the same row twice."""
    limit = min(limit, max(1, settings.YONYOU_MAX_CONCURRENCY))
    now = timezone.now()
    due = list(
        UploadRecord.objects.alive()
        .filter(status=UploadStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    taken = []
    for record_id, due_at in due:
        if UploadRecord.objects.filter(pk=record_id, status=UploadStatus.PENDING, next_attempt_at=due_at).update(
            next_attempt_at=None, enqueued_at=now
        ):
            taken.append(record_id)
    enqueue_uploads(taken)
    return len(taken)
