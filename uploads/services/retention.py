"""Retention of local copies: what the daily purge job deletes, and what it never touches."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from uploads import files
from uploads.models import UploadRecord, UploadStatus


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
