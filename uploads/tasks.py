"""django-q2 entry points: thin, they take ids and call services."""

from uploads import services


def upload_record(record_id: int) -> str:
    """One upload attempt for one row (enqueued on commit, by a freed slot, or by recovery)."""
    return services.upload_to_yonyou(record_id)
