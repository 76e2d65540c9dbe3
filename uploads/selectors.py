"""Read-side queries shared by the pages, the API and the admin."""

import datetime
from collections import defaultdict

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from uploads.models import UploadRecord, UploadStatus
from yonyou.errors import TOKEN_ERROR_CODES

# A document has a handful of photos; the cap only protects the page from a runaway document.
HISTORY_LIMIT = 200


def document_history(business_id: str):
    """The records of one business document, newest first (slice it to HISTORY_LIMIT to show)."""
    return UploadRecord.objects.alive().filter(business_id=business_id).order_by("-upload_time", "-id")


def has_unfinished(records) -> bool:
    return any(r.status in (UploadStatus.PENDING, UploadStatus.UPLOADING) for r in records)


def statistics(queryset=None) -> dict:
    """The seed's statistics body: totals per status and per doc_type (soft-deleted rows excluded)."""
    queryset = UploadRecord.objects.alive() if queryset is None else queryset
    counts = queryset.aggregate(
        total=Count("id"),
        **{status: Count("id", filter=Q(status=status)) for status in UploadStatus.values},
    )
    by_doc_type = dict(
        queryset.exclude(doc_type="").values_list("doc_type").annotate(n=Count("id")).order_by("doc_type")
    )
    return {
        "total_uploads": counts["total"],
        "pending_count": counts[UploadStatus.PENDING],
        "uploading_count": counts[UploadStatus.UPLOADING],
        "success_count": counts[UploadStatus.SUCCESS],
        "failed_count": counts[UploadStatus.FAILED],
        "by_doc_type": by_doc_type,
    }


def daily_counts(days: int = 30, queryset=None) -> list[dict]:
    """Uploads per local day and status for the last `days` days, oldest first, zeros included."""
    queryset = UploadRecord.objects.alive() if queryset is None else queryset
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    rows = (
        queryset.filter(upload_time__gte=start)
        .annotate(day=TruncDate("upload_time", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "status")
        .annotate(n=Count("id"))
    )
    per_day: dict[datetime.date, dict[str, int]] = defaultdict(dict)
    for day, status, n in rows:
        per_day[day][status] = n
    series = []
    for offset in range(days):
        day = first + datetime.timedelta(days=offset)
        counts = {status: per_day[day].get(status, 0) for status in UploadStatus.values}
        series.append({"date": day, "total": sum(counts.values()), **counts})
    return series


def last_erp_success() -> datetime.datetime | None:
    """When a photo last reached the ERP (deleted records count: the call itself succeeded)."""
    return UploadRecord.objects.filter(status=UploadStatus.SUCCESS).aggregate(at=Max("succeeded_at"))["at"]


def first_token_failure(*, after: datetime.datetime | None) -> datetime.datetime | None:
    """When an upload first failed for want of a Yonyou token after `after` (ever, when None)."""
    failures = UploadRecord.objects.filter(error_code__in=TOKEN_ERROR_CODES)
    if after is not None:
        failures = failures.filter(updated_at__gt=after)
    return failures.aggregate(at=Min("updated_at"))["at"]
