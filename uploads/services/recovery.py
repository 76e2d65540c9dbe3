"""The recovery sweep: revive rows whose task vanished (a worker killed, a broker that lost the
task, a web process killed between commit and enqueue), then dispatch every due row."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from uploads import files
from uploads.models import UploadRecord, UploadSlot, UploadStatus
from uploads.services.dispatch import dispatch_due_uploads
from uploads.services.slots import dead_local_holders

logger = logging.getLogger(__name__)


def requeue_stalled_uploads() -> dict:
    """Revive rows whose task vanished: `uploading` past its lease (worker died) and `pending` whose
    task was enqueued too long ago; then dispatch every due row."""
    now = timezone.now()
    recovered = 0
    expired = UploadRecord.objects.alive().filter(status=UploadStatus.UPLOADING, lease_expires_at__lt=now)
    for record_id, lease in expired.values_list("pk", "lease_token"):
        recovered += UploadRecord.objects.filter(pk=record_id, status=UploadStatus.UPLOADING, lease_token=lease).update(
            status=UploadStatus.PENDING,
            lease_token=None,
            lease_expires_at=None,
            next_attempt_at=now,
            error_code="lease_expired",
            error_message=_("上传进程中断，已重新排队"),
            updated_at=now,
        )
    stale_before = now - timedelta(seconds=settings.UPLOAD_PENDING_STALE_S)
    requeued = (
        UploadRecord.objects.alive()
        .filter(status=UploadStatus.PENDING, next_attempt_at__isnull=True)
        .filter(Q(enqueued_at__lt=stale_before) | Q(enqueued_at__isnull=True))
        .update(next_attempt_at=now)
    )
    dispatched = dispatch_due_uploads(limit=1000)
    # Request bodies of web processes that died mid-request: minutes, not a day, of disk.
    staging_removed = files.remove_stale_staging()
    if recovered or requeued or staging_removed:
        logger.warning(
            "stalled uploads revived",
            extra={"recovered": recovered, "requeued": requeued, "staging_removed": staging_removed},
        )
    return {
        "recovered_uploading": recovered,
        "requeued_pending": requeued,
        "dispatched": dispatched,
        "staging_removed": staging_removed,
    }


def take_back_from_dead_workers(*, enqueued_before: datetime | None = None) -> dict:
    """When a worker process starts (a cluster started, or a dead worker was replaced): take back
    at once, not after their lease, the rows and slots held by processes of this host that are
    gone; and dispatch again the pending rows enqueued before `enqueued_before` (this process's
    start), whose task may have died with a cluster's queue."""
    now = timezone.now()
    enqueued_before = enqueued_before or now
    uploading = UploadRecord.objects.alive().filter(status=UploadStatus.UPLOADING, lease_holder__isnull=False)
    holders = set(uploading.values_list("lease_holder", flat=True))
    holders |= set(UploadSlot.objects.filter(holder_token__isnull=False).values_list("holder", flat=True))
    dead = dead_local_holders({holder for holder in holders if holder})
    recovered = freed = 0
    if dead:
        for record_id, lease in uploading.filter(lease_holder__in=dead).values_list("pk", "lease_token"):
            recovered += UploadRecord.objects.filter(
                pk=record_id, status=UploadStatus.UPLOADING, lease_token=lease
            ).update(
                status=UploadStatus.PENDING,
                lease_token=None,
                lease_holder=None,
                lease_expires_at=None,
                next_attempt_at=now,
                error_code="worker_lost",
                error_message=_("上传进程中断，已重新排队"),
                updated_at=now,
            )
        freed = UploadSlot.objects.filter(holder__in=dead).update(
            holder_token=None, holder=None, record_id=None, lease_expires_at=None
        )
    # A task queued before the restart may be lost (Redis) or locked for Q_TASK_TIMEOUT_S + 60 s
    # (ORM broker). A second copy is harmless: tasks are claimed by a guarded UPDATE. Rows already
    # dispatched by a worker of this cluster (after it started) are left alone.
    requeued = (
        UploadRecord.objects.alive()
        .filter(status=UploadStatus.PENDING, next_attempt_at__isnull=True)
        .filter(Q(enqueued_at__lt=enqueued_before) | Q(enqueued_at__isnull=True))
        .update(next_attempt_at=now)
    )
    dispatched = dispatch_due_uploads(limit=1000)
    if recovered or freed or requeued:
        logger.warning(
            "uploads taken back from dead workers",
            extra={"recovered": recovered, "slots_freed": freed, "requeued": requeued, "dead": sorted(dead)},
        )
    return {
        "recovered_uploading": recovered,
        "slots_freed": freed,
        "requeued_pending": requeued,
        "dispatched": dispatched,
    }
