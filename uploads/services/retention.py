"""Retention: what the daily purge job deletes (local copies of old successful uploads, expired
idempotency keys), and what it never touches (any upload record)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from uploads import files
from uploads.models import ClientRequest, UploadRecord, UploadStatus

# Keys removed per transaction: a first run over a large backlog holds no lock for long.
_KEYS_PER_BATCH = 1000


def purge_local_copies() -> int:
    """Delete local copies of uploads that succeeded more than UPLOAD_LOCAL_RETENTION_DAYS ago.
    Unfinished or failed uploads keep their file whatever their age."""
    files.remove_stale_staging()
    days = settings.UPLOAD_LOCAL_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    old = UploadRecord.objects.filter(
        status=UploadStatus.SUCCESS, succeeded_at__lt=cutoff, local_file_deleted_at__isnull=True
    ).values_list("pk", "local_file_path")
    purged = 0
    for record_id, path in old.iterator(chunk_size=500):
        files.remove(path)
        purged += UploadRecord.objects.filter(pk=record_id, status=UploadStatus.SUCCESS).update(
            local_file_deleted_at=timezone.now()
        )
    return purged


def expire_idempotency_keys(*, now: datetime | None = None) -> int:
    """Delete the Idempotency-Keys stored more than UPLOAD_IDEMPOTENCY_KEY_TTL_H hours before `now`,
    so that the table does not grow with every upload; the same key sent again afterwards is a new
    upload. Their records stay, whole, and only forget which key stored them."""
    hours = settings.UPLOAD_IDEMPOTENCY_KEY_TTL_H
    if hours <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    expired = 0
    while True:
        with transaction.atomic():
            ids = list(
                ClientRequest.objects.filter(created_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:_KEYS_PER_BATCH]
            )
            if not ids:
                return expired
            # The foreign key stays PROTECT so that nothing else can detach records from their key
            # by deleting it; this is the one place that does, on purpose. A queryset update
            # leaves `updated_at` alone: the records are not changed, only unlinked.
            UploadRecord.objects.filter(client_request_id__in=ids).update(client_request=None)
            expired += ClientRequest.objects.filter(pk__in=ids).delete()[0]
