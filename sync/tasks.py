"""django-q2 entry points of the sync app: thin, they take ids and call services."""

from django_q.models import Schedule
from django_q.tasks import async_task

from sync import services


def sync_batch_step(batch_id: int) -> str:
    """Sync the next day of a batch; the step enqueues its successor when it commits."""
    return services.run_batch_step(batch_id=batch_id)


def enqueue_batch_step(batch_id: int) -> str:
    return async_task("sync.tasks.sync_batch_step", batch_id, group="sync")


def schedule_batch_step(batch_id: int, *, at) -> None:
    """Run the batch's step once at `at`: one wake-up per batch, moved if it is already set."""
    Schedule.objects.update_or_create(
        name=f"sync-batch-{batch_id}-next-attempt",
        defaults={
            "func": "sync.tasks.sync_batch_step",
            "args": repr((batch_id,)),
            "schedule_type": Schedule.ONCE,
            "repeats": -1,
            "next_run": at,
        },
    )
