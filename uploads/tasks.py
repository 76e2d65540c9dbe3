"""django-q2 entry points: thin, they take ids and call services."""

from uploads import services


def upload_record(record_id: int) -> str:
    """One upload attempt for one row (enqueued on commit, by a freed slot, or by recovery)."""
    return services.upload_to_yonyou(record_id)


def enqueue_uploads(record_ids: list[int]) -> int:
    """Fan out: one upload task per accepted file, so they run in parallel (up to the cap)."""
    services.enqueue_uploads(record_ids)
    return len(record_ids)
