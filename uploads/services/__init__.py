"""The business actions of uploads, by what they do: accepting an upload (`intake`), handing rows
to the workers (`dispatch`), the concurrency cap and leases (`slots`), the state machine
(`states`), the delivery attempt (`delivery`), the recovery sweep (`recovery`), staff actions
(`staff`) and retention of local copies and idempotency keys (`retention`). Other code imports
them from here: `uploads.services.<name>`. `docs/uploads.md` describes the delivery guarantee they
give."""

from uploads.services.delivery import fan_out_uploads, upload_to_yonyou, warm_yonyou_client
from uploads.services.dispatch import (
    FAN_OUT_TASK,
    UPLOAD_TASK,
    dispatch_due_uploads,
    enqueue_fan_out,
    enqueue_uploads,
)
from uploads.services.heartbeats import keep_beating
from uploads.services.intake import (
    Accepted,
    ClientKey,
    IdempotencyKeyReused,
    UploadRejected,
    accept_upload,
    accept_upload_once,
    file_problem,
    validate_document,
    validate_files,
)
from uploads.services.recovery import (
    requeue_stalled_uploads,
    take_back_from_dead_workers,
    take_back_from_silent_workers,
)
from uploads.services.retention import expire_idempotency_keys, purge_local_copies
from uploads.services.slots import claim_slot, hold_slot, release_slot, renew_leases, slot_leases_kept_alive
from uploads.services.staff import retry_failed, retry_one, soft_delete
from uploads.services.states import (
    IllegalTransition,
    mark_failed,
    mark_retry_or_failed,
    mark_success,
    mark_waiting_for_slot,
    retry_delay_s,
    start_attempt,
)

__all__ = [
    "FAN_OUT_TASK",
    "UPLOAD_TASK",
    "Accepted",
    "ClientKey",
    "IdempotencyKeyReused",
    "IllegalTransition",
    "UploadRejected",
    "accept_upload",
    "accept_upload_once",
    "claim_slot",
    "dispatch_due_uploads",
    "enqueue_fan_out",
    "enqueue_uploads",
    "expire_idempotency_keys",
    "fan_out_uploads",
    "file_problem",
    "hold_slot",
    "keep_beating",
    "mark_failed",
    "mark_retry_or_failed",
    "mark_success",
    "mark_waiting_for_slot",
    "purge_local_copies",
    "release_slot",
    "renew_leases",
    "requeue_stalled_uploads",
    "retry_delay_s",
    "retry_failed",
    "retry_one",
    "slot_leases_kept_alive",
    "soft_delete",
    "start_attempt",
    "take_back_from_dead_workers",
    "take_back_from_silent_workers",
    "upload_to_yonyou",
    "validate_document",
    "validate_files",
    "warm_yonyou_client",
]
