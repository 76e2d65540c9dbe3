"""Read-side queries of the sync app, shared by the API, the page and the admin."""

from datetime import datetime

from django.db.models import Max, Min, QuerySet

from sync.models import ACTIVE_BATCH_STATUSES, DayStatus, SyncBatch, SyncDay
from yonyou.errors import TOKEN_ERROR_CODES


def active_batch() -> SyncBatch | None:
    return SyncBatch.objects.filter(status__in=ACTIVE_BATCH_STATUSES).select_related("created_by").first()


def recent_batches(limit: int = 10) -> QuerySet[SyncBatch]:
    return SyncBatch.objects.select_related("created_by").order_by("-created_at", "-id")[:limit]


def recent_days(*, status: str = "", limit: int = 60) -> QuerySet[SyncDay]:
    days = SyncDay.objects.order_by("-sync_date")
    if status:
        days = days.filter(status=status)
    return days[:limit]


def last_erp_success() -> datetime | None:
    """When a day last synced from the ERP successfully."""
    return SyncDay.objects.filter(status=DayStatus.SUCCESS).aggregate(at=Max("end_time"))["at"]


def first_token_failure(*, after: datetime | None) -> datetime | None:
    """When a day sync first failed for want of a Yonyou token after `after` (ever, when None)."""
    failures = SyncDay.objects.filter(error_code__in=TOKEN_ERROR_CODES)
    if after is not None:
        failures = failures.filter(end_time__gt=after)
    return failures.aggregate(at=Min("end_time"))["at"]
