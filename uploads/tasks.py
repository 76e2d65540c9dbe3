"""django-q2 entry points: thin, they take ids and call services."""

from uploads import services


def upload_record(record_id: int) -> str:
    """One upload attempt for one row (enqueued on commit, by a freed slot, or by recovery)."""
    return services.upload_to_yonyou(record_id)


def enqueue_uploads(record_ids: list[int]) -> int:
    """Fan out a request's files: one upload task each for the others, and the first one uploaded
    here at once, so a 10-file request starts as soon as a single file would."""
    services.fan_out_uploads(record_ids)
    return len(record_ids)
