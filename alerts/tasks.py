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


def deliver_notifications(notification_ids: list[int]) -> dict:
    """One delivery attempt of each of the rows one transaction (or one sweep) handed over
    together; each row is claimed on its own, so a row another worker took is skipped."""
    from alerts import delivery

    outcomes: dict[str, int] = {}
    for notification_id in notification_ids:
        outcome = str(delivery.deliver_notification(notification_id))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
