"""Read-side queries of the sync app, shared by the API, the page and the admin."""

from django.db.models import QuerySet

from sync.models import ACTIVE_BATCH_STATUSES, SyncBatch, SyncDay


def active_batch() -> SyncBatch | None:
    return SyncBatch.objects.filter(status__in=ACTIVE_BATCH_STATUSES).select_related("created_by").first()


def recent_batches(limit: int = 10) -> QuerySet[SyncBatch]:
    return SyncBatch.objects.select_related("created_by").order_by("-created_at", "-id")[:limit]


def recent_days(*, status: str = "", limit: int = 60) -> QuerySet[SyncDay]:
    days = SyncDay.objects.order_by("-sync_date")
    if status:
        days = days.filter(status=status)
    return days[:limit]
