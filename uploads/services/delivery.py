"""The delivery attempt: one try at putting a pending row's file into Yonyou, under a slot and a
lease, with the outcome saved on the row."""

import logging
import threading
import time
from collections.abc import Callable

from django import db
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from uploads import files
from uploads.models import UploadRecord, UploadStatus
from uploads.services.dispatch import dispatch_due_uploads, enqueue_uploads
from uploads.services.slots import claim_slot, claim_slots, hold_slot, release_slot, slot_leases_kept_alive
from uploads.services.states import (
    begin_attempt,
    begin_attempts,
    due_count,
    mark_failed,
    mark_retry_or_failed,
    mark_success,
    mark_waiting_for_slot,
    take_next_due,
)

logger = logging.getLogger(__name__)


def upload_to_yonyou(record_id: int) -> str:
    """One attempt to put a pending row's file into Yonyou, then, while this worker holds slots,
    the next due rows (see `_deliver_while_due`). Safe to run twice, or for a stale task. Returns
    the outcome of `record_id`'s attempt."""
    record = UploadRecord.objects.alive().filter(pk=record_id).first()
    if record is None or record.status != UploadStatus.PENDING:
        return "skipped"
    if record.next_attempt_at and record.next_attempt_at > timezone.now():
        return "not_due"
    slot = claim_slot(record_id)
    if slot is None:
        mark_waiting_for_slot(record_id)
        # A slot freed between our claim and the mark would not have seen us waiting: look again.
        slot = claim_slot(record_id)
        if slot is None:
            return "waiting"
    # Past this budget no new row is taken, so a task ends and django-q2's timeout stays far.
    budget_ends = time.monotonic() + settings.UPLOAD_DRAIN_BUDGET_S
    record = begin_attempt(record_id)
    helpers = _start_helpers(budget_ends)
    try:
        return _deliver_while_due(slot, record=record, first=record_id, budget_ends=budget_ends)
    finally:
        for helper in helpers:
            helper.join()


def _deliver_while_due(slot: str, *, record: UploadRecord | None, first: int | None, budget_ends: float) -> str:
    """Deliver `record` (already `uploading` under its lease) under `slot`, then keep the slot and
    take the next due row at once, until none is due, the budget is spent or a call was abandoned:
    a freed slot handed on through the broker waits a poll, and a worker per call would tie
    throughput to the worker count. Returns the outcome of row `first`."""
    first_outcome = "skipped"
    abandoned = False
    try:
        if record is None:  # our row was taken by someone else: the slot is ours, use it
            record = take_next_due()
        with slot_leases_kept_alive(slot) as leases:
            while record is not None:
                with leases.sending(record_id=record.pk, lease_token=record.lease_token):
                    save_outcome, abandoned = _attempt(record, record.lease_token)
                goes_on = not abandoned and time.monotonic() < budget_ends
                # If the claim fails, the outcome is rolled back with it and the row stays
                # `uploading` under its lease: recovery takes it back, and the next attempt finds
                # the file already in Yonyou (`_find_in_cloud`). A savepoint to keep the outcome
                # alone cost more than the second commit it saves.
                with transaction.atomic():
                    outcome = save_outcome()
                    following = take_next_due() if goes_on else None
                if record.pk == first:
                    first_outcome = outcome
                record = following
    finally:
        if abandoned:
            # We gave up waiting, but Yonyou may still be working on the call: the slot stays
            # taken for as long as it may, so the cap holds as Yonyou sees it, not as we do.
            hold_slot(slot, seconds=settings.UPLOAD_ABANDONED_CALL_S)
        else:
            release_slot(slot)
            # Hand the freed slot to the row that has waited longest.
            dispatch_due_uploads(limit=1)
    return first_outcome


def _start_helpers(budget_ends: float) -> list[threading.Thread]:
    """Threads of this worker on the other free slots, one per due row up to the cap: so a single
    worker process can keep every slot busy, and throughput follows the cap, not Q_WORKERS."""
    if db.connection.in_atomic_block:
        # Another thread's connection cannot see rows this transaction has not committed.
        return []
    wanted = min(due_count(limit=settings.YONYOU_MAX_CONCURRENCY), settings.YONYOU_MAX_CONCURRENCY - 1)
    if wanted <= 0:
        return []
    # The slots and their rows are taken here, one statement each, before any thread starts: so
    # every helper's first call starts at once, and this worker's own call right after them.
    try:
        slots = claim_slots(wanted)
    except db.DatabaseError:
        # This worker's own row is under way already: it sends alone rather than not at all.
        logger.exception("could not take free upload slots for helpers")
        return []
    try:
        records = begin_attempts(limit=len(slots))
    except db.DatabaseError:
        logger.exception("could not take due uploads for helpers")
        records = []
    for unused in slots[len(records) :]:  # fewer rows than counted (another worker took them)
        release_slot(unused)
    helpers = []
    for number, (slot, record) in enumerate(zip(slots, records, strict=False)):
        helper = threading.Thread(
            target=_helper_delivers,
            kwargs={"slot": slot, "record": record, "budget_ends": budget_ends},
            name=f"upload-helper-{number}",
            daemon=True,
        )
        helper.start()
        helpers.append(helper)
    return helpers


def _helper_delivers(*, slot: str, record: UploadRecord, budget_ends: float) -> None:
    try:
        _deliver_while_due(slot, record=record, first=None, budget_ends=budget_ends)
    except Exception:
        # Its row is `uploading` under a lease: recovery takes it back; the worker goes on.
        logger.exception("upload helper thread crashed")
    finally:
        db.connection.close()  # this thread's own connection


def warm_yonyou_client() -> None:
    """For a worker process that just started: its first upload then starts its call at once."""
    from yonyou.client import get_client

    try:
        get_client().warm()
    except Exception:  # the first upload builds it then; a worker must start even if this fails
        logger.exception("could not prepare the Yonyou client")


def fan_out_uploads(record_ids: list[int]) -> str | None:
    """Hand all but the first of a request's rows to other workers, then attempt the first here:
    waiting for the broker to deliver a task of its own would cost the first file one more poll."""
    if not record_ids:
        return None
    first, *others = record_ids
    enqueue_uploads(others)
    return upload_to_yonyou(first)


def _attempt(record: UploadRecord, lease: str) -> tuple[Callable[[], str], bool]:
    """One call to Yonyou for `record`. Returns how to save its outcome on the row (the save
    returns the outcome), and whether the call was abandoned (timed out) while Yonyou may still
    work on it. Nothing is written here: the caller saves the outcome and claims its next row in
    one transaction, one commit between two calls instead of two."""
    from yonyou import errors
    from yonyou.client import business_type_for, get_client
    from yonyou.errors import PermanentError, RetryableError

    started = time.monotonic()
    log = {"record_id": record.pk, "file_name": record.file_name, "attempt": record.attempts}
    duration_ms = None

    def failed(code: str, message: str, *, level: int = logging.WARNING, text: str | None) -> Callable[[], str]:
        def save() -> str:
            mark_failed(record.pk, lease, code=code, message=message, duration_ms=duration_ms)
            if text:
                logger.log(level, text, extra={**log, "error_code": code})
            return UploadStatus.FAILED

        return save

    def succeeded(file_id: str, *, text: str) -> Callable[[], str]:
        def save() -> str:
            mark_success(record.pk, yonyou_file_id=file_id, duration_ms=duration_ms)
            logger.info(text, extra={**log, "yonyou_file_id": file_id, "ms": duration_ms})
            return UploadStatus.SUCCESS

        return save

    try:
        client = get_client()
        business_type = business_type_for(record.doc_type)
        if record.attempts > 1:
            # An earlier attempt may have reached the cloud before its worker died or timed out.
            try:
                existing = _find_in_cloud(client, record, business_type)
            except PermanentError as error:
                # The check is best effort (the app may not be granted the list API): failing on
                # it would fail this upload, and every staff retry of it, for good.
                existing = None
                logger.warning("attachment check refused, uploading anyway", extra={**log, "error_code": error.code})
            if existing is not None:
                duration_ms = _ms_since(started)
                return succeeded(existing, text="upload found already in Yonyou"), False
        with files.open_stored(record.local_file_path) as fileobj:
            uploaded = client.upload_attachment(
                business_type=business_type,
                business_id=record.business_id,
                file_name=record.file_name,
                fileobj=fileobj,
                # Over before the lease could lapse, even if renewing it failed.
                deadline=time.monotonic() + settings.UPLOAD_ATTEMPT_DEADLINE_S,
            )
    # The object store down is transient too: the file is still there, try again later.
    except (RetryableError, files.StoredFileUnavailable) as error:
        duration_ms = _ms_since(started)
        transient = error  # `error` is unbound when the except block ends

        def retry_or_fail() -> str:
            outcome = mark_retry_or_failed(
                record.pk,
                lease,
                code=transient.code,
                message=transient.message,
                retry_after=transient.retry_after,
                duration_ms=duration_ms,
            )
            logger.warning("upload attempt failed", extra={**log, "error_code": transient.code, "outcome": outcome})
            return outcome

        return retry_or_fail, transient.code == errors.TIMEOUT
    except PermanentError as error:
        duration_ms = _ms_since(started)
        return failed(error.code, error.message, text="upload refused by Yonyou"), False
    except FileNotFoundError:
        duration_ms = _ms_since(started)
        return failed("local_file_missing", _("本地文件已丢失"), level=logging.ERROR, text="local file missing"), False
    except Exception as error:
        duration_ms = _ms_since(started)
        logger.exception("upload attempt crashed", extra=log)  # here, where the traceback is
        return failed("internal_error", repr(error)[:2000], text=None), False
    duration_ms = _ms_since(started)
    return succeeded(uploaded.file_id, text="uploaded to Yonyou"), False


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _find_in_cloud(client, record: UploadRecord, business_type: str) -> str | None:
    attachments = client.list_attachments(
        business_type=business_type, business_id=record.business_id, bill_code=record.doc_number
    )
    for attachment in attachments:
        if attachment.file_name == record.file_name:
            return attachment.file_id
    return None
