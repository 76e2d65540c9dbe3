"""django-q2 entry points: thin, they take ids and call services."""

import logging

from uploads import services

logger = logging.getLogger(__name__)


def upload_record(record_id: int) -> str:
    """One upload attempt for one row (enqueued on commit, by a freed slot, or by recovery)."""
    return services.upload_to_yonyou(record_id)


def enqueue_uploads(record_ids: list[int]) -> int:
    """Fan out a request's files: one upload task each for the others, and the first one uploaded
    here at once, so a 10-file request starts as soon as a single file would."""
    services.fan_out_uploads(record_ids)
    return len(record_ids)


def take_back_on_worker_start(sender=None, **kwargs) -> None:
    """django-q2 `post_spawn`, in every worker process it starts: recovery in seconds after a
    restart or a worker's death, instead of after UPLOAD_LEASE_S / UPLOAD_PENDING_STALE_S; then a
    heartbeat, so that a death on another host is noticed within UPLOAD_HEARTBEAT_DEAD_S too."""
    from django.apps import apps
    from django_q.conf import Conf

    if Conf.SYNC:
        # django-q2 runs the task inline, in the process that queued it (a test, a debugging web
        # process): no worker started, none to take back from, and a heartbeat there would beat
        # for that process's whole life, one more thread per task.
        return
    try:
        services.take_back_from_dead_workers(enqueued_before=apps.get_app_config("uploads").started_at)
    except Exception:  # a worker must start even if this fails; the periodic sweep remains
        logger.exception("could not take back uploads of dead workers")
    # From now on, this process says it is alive, and takes back from those that fell silent on
    # any host (their pid cannot be checked from here).
    services.keep_beating()
    services.warm_yonyou_client()
