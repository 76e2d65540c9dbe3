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
    # Normally done by the heartbeat of every worker within seconds; here too, in case none runs.
    # It dispatches the due rows itself, so what it dispatched counts as this sweep's too.
    taken_back = take_back_from_silent_workers() or {}
    dispatched = taken_back.get("dispatched", 0) + dispatch_due_uploads(limit=1000)
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
    holders = _holders()
    dead = dead_local_holders(holders)
    recovered, freed = _take_back(dead, now=now)
    requeued = _requeue_enqueued_before(enqueued_before, now=now)
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


def take_back_from_silent_workers() -> dict | None:
    """Take back the rows and slots of worker processes, on any host, whose heartbeat stopped
    (`services.heartbeats`), and dispatch again the pending rows enqueued before their last beat
    (their cluster may have taken the task with it). None when every worker is beating."""
    from uploads.services.heartbeats import forget, silent_workers

    silent = silent_workers()
    if not silent:
        return None
    now = timezone.now()
    recovered, freed = _take_back(set(silent), now=now)
    requeued = _requeue_enqueued_before(max(silent.values()), now=now)
    dispatched = dispatch_due_uploads(limit=1000)
    forget(silent)
    logger.warning(
        "uploads taken back from silent workers",
        extra={"recovered": recovered, "slots_freed": freed, "requeued": requeued, "silent": sorted(silent)},
    )
    return {
        "recovered_uploading": recovered,
        "slots_freed": freed,
        "requeued_pending": requeued,
        "dispatched": dispatched,
    }


def _holders() -> set[str]:
    uploading = UploadRecord.objects.alive().filter(status=UploadStatus.UPLOADING, lease_holder__isnull=False)
    holders = set(uploading.values_list("lease_holder", flat=True))
    holders |= set(UploadSlot.objects.filter(holder_token__isnull=False).values_list("holder", flat=True))
    return {holder for holder in holders if holder}


def _take_back(dead: set[str], *, now: datetime) -> tuple[int, int]:
    """Rows `uploading` under a dead process back to `pending`, due now; its slots freed."""
    if not dead:
        return 0, 0
    recovered = 0
    uploading = UploadRecord.objects.alive().filter(status=UploadStatus.UPLOADING, lease_holder__in=dead)
    for record_id, lease in uploading.values_list("pk", "lease_token"):
        recovered += UploadRecord.objects.filter(pk=record_id, status=UploadStatus.UPLOADING, lease_token=lease).update(
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
    return recovered, freed


def _requeue_enqueued_before(moment: datetime, *, now: datetime) -> int:
    """A task queued before a restart may be lost (Redis) or locked for Q_TASK_TIMEOUT_S + 60 s
    (ORM broker). A second copy is harmless: tasks are claimed by a guarded UPDATE. Rows dispatched
    after `moment` are left alone."""
    return (
        UploadRecord.objects.alive()
        .filter(status=UploadStatus.PENDING, next_attempt_at__isnull=True)
        .filter(Q(enqueued_at__lt=moment) | Q(enqueued_at__isnull=True))
        .update(next_attempt_at=now)
    )
