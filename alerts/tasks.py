"""django-q2 entry points of the scheduler: thin wrappers over `alerts.services`."""

from alerts import services


def run_job(job_id: str, trigger: str = "schedule", run_id: int | None = None) -> dict | None:
    """Run one registered job; every `Schedule` row of the registry points here."""
    run = services.execute_job(job_id=job_id, trigger=trigger, run_id=run_id)
    if run is None:
        return None
    return {"run_id": run.pk, "status": run.status}


def deliver_notification(notification_id: int) -> str:
    """One delivery attempt of one notification (enqueued on commit, by a retry, or by a sweep)."""
    from alerts import delivery

    return delivery.deliver_notification(notification_id)
