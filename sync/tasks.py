"""django-q2 entry points of the sync app: thin, they take ids and call services."""

from django_q.tasks import async_task

from sync import services


def sync_batch_step(batch_id: int) -> str:
    """Sync the next day of a batch; the step enqueues its successor when it commits."""
    return services.run_batch_step(batch_id=batch_id)


def enqueue_batch_step(batch_id: int) -> str:
    return async_task("sync.tasks.sync_batch_step", batch_id, group="sync")
