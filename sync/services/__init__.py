"""Sync actions, by what they do: one business day (`day`), batches of days (`batches`), and
recovery after crashes (`recovery`). Other code imports them from here: `sync.services.<name>`."""

from sync.services.batches import (
    BatchAlreadyRunning,
    IllegalBatchTransition,
    InvalidBatchRange,
    SyncError,
    cancel_batch,
    enqueue_step,
    record_batch_day,
    resync_days,
    retry_batch,
    run_batch_step,
    running_batch,
    start_batch,
    start_date_sync,
    validate_range,
)
from sync.services.day import (
    DAY_BUSY,
    INTERNAL_ERROR,
    INVALID_RECORD,
    DayResult,
    NightlySyncFailed,
    lease_seconds,
    sync_day,
    sync_yesterday,
)
from sync.services.recovery import MAX_DAY_ATTEMPTS, WORKER_LOST, resume_interrupted_batches

__all__ = [
    "DAY_BUSY",
    "INTERNAL_ERROR",
    "INVALID_RECORD",
    "MAX_DAY_ATTEMPTS",
    "WORKER_LOST",
    "BatchAlreadyRunning",
    "DayResult",
    "IllegalBatchTransition",
    "InvalidBatchRange",
    "NightlySyncFailed",
    "SyncError",
    "cancel_batch",
    "enqueue_step",
    "lease_seconds",
    "record_batch_day",
    "resume_interrupted_batches",
    "resync_days",
    "retry_batch",
    "run_batch_step",
    "running_batch",
    "start_batch",
    "start_date_sync",
    "sync_day",
    "sync_yesterday",
    "validate_range",
]
