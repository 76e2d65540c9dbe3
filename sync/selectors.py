"""Read-side queries of the sync app, shared by the API, the page and the admin."""

from datetime import date

from django.db.models import QuerySet

from sync.models import ACTIVE_BATCH_STATUSES, DayStatus, SyncBatch, SyncDay


def day_is_synced(day: date) -> bool:
    return SyncDay.objects.filter(sync_date=day, status=DayStatus.SUCCESS).exists()


def active_batch() -> SyncBatch | None:
    return SyncBatch.objects.filter(status__in=ACTIVE_BATCH_STATUSES).select_related("created_by").first()


def recent_batches(limit: int = 10) -> QuerySet[SyncBatch]:
    return SyncBatch.objects.select_related("created_by").order_by("-created_at", "-id")[:limit]


def recent_days(*, status: str = "", limit: int = 60) -> QuerySet[SyncDay]:
    days = SyncDay.objects.order_by("-sync_date")
    if status:
        days = days.filter(status=status)
    return days[:limit]
