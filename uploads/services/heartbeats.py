"""Worker heartbeats: every worker process says it is alive every UPLOAD_HEARTBEAT_S, in the
database every host shares, and takes back what a process silent for UPLOAD_HEARTBEAT_DEAD_S held.
A process's own pid can only be checked on its own host; a heartbeat can be read from any host."""

import logging
import threading
from datetime import datetime, timedelta

from django import db
from django.conf import settings
from django.utils import timezone

from uploads.models import WorkerHeartbeat
from uploads.services.slots import this_worker

logger = logging.getLogger(__name__)


def beat() -> None:
    """Say that this process is alive."""
    now = timezone.now()
    holder = this_worker()
    if not WorkerHeartbeat.objects.filter(holder=holder).update(beat_at=now):
        WorkerHeartbeat.objects.bulk_create([WorkerHeartbeat(holder=holder, beat_at=now)], ignore_conflicts=True)


def silent_workers() -> dict[str, datetime]:
    """The processes, on any host, whose last beat is older than UPLOAD_HEARTBEAT_DEAD_S, with it."""
    cutoff = timezone.now() - timedelta(seconds=settings.UPLOAD_HEARTBEAT_DEAD_S)
    return dict(WorkerHeartbeat.objects.filter(beat_at__lt=cutoff).values_list("holder", "beat_at"))


def forget(silent: dict[str, datetime]) -> None:
    """Drop the beats of processes taken back from, unless one beat again in between."""
    for holder, beat_at in silent.items():
        WorkerHeartbeat.objects.filter(holder=holder, beat_at=beat_at).delete()


def keep_beating() -> threading.Thread:
    """In a worker process: beat, and take back from silent workers, every UPLOAD_HEARTBEAT_S, from
    a thread of its own (a task may block the worker's main thread for minutes)."""
    from uploads.services.recovery import take_back_from_silent_workers

    def run() -> None:
        while True:
            try:
                beat()
                take_back_from_silent_workers()
            except Exception:
                # The database away for a moment: the next beat tries again.
                logger.exception("upload worker heartbeat failed")
                db.connection.close()
            threading.Event().wait(settings.UPLOAD_HEARTBEAT_S)

    thread = threading.Thread(target=run, name="upload-heartbeat", daemon=True)
    thread.start()
    return thread
