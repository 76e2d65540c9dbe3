"""The recovery sweep: revive rows whose task vanished (a worker killed, a broker that lost the
task, a web process killed between commit and enqueue), then dispatch every due row."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from uploads import files
from uploads.models import UploadRecord, UploadStatus
from uploads.services.dispatch import dispatch_due_uploads

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
