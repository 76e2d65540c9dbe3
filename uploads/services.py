"""The business actions of uploads: accept photos, send them to Yonyou, recover, retry, purge.

State machine of an `UploadRecord` (every transition is one guarded UPDATE, so two workers can
never both win):

    pending ──start_attempt──► uploading ──► success
       ▲                           │
       └──── retryable failure ────┤ (next_attempt_at = now + backoff)
                                   └──► failed  (permanent error, or MAX_RETRY_COUNT failures)

Scheduling: `next_attempt_at` says when a pending row next needs a task. It is set by a
retryable failure (backoff), by a task that found every concurrency slot taken, and by
recovery. Due rows are dispatched (enqueued) by whoever frees a slot, and by the periodic
`recover_stalled_uploads` job, which also revives rows whose task vanished. See
`docs/uploads.md` for the delivery guarantee this gives.
"""

import logging
import random
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from uploads import files
from uploads.models import DocType, UploadRecord, UploadSlot, UploadStatus

logger = logging.getLogger(__name__)

UPLOAD_TASK = "uploads.tasks.upload_record"
FAN_OUT_TASK = "uploads.tasks.enqueue_uploads"


# --- Accepting an upload --------------------------------------------------------------------------


@dataclass
class UploadRejected(Exception):
    """The request is refused as a whole; nothing was stored."""

    message: str
    code: str = "invalid"
    errors: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def validate_document(*, business_id: str, doc_number: str, doc_type: str, product_type: str | None) -> None:
    # ASCII digits only: isdigit() alone takes an IME's full-width "１２３", which Yonyou does not.
    if not business_id or not (business_id.isascii() and business_id.isdigit()) or len(business_id) > 50:
        raise UploadRejected(_("business_id 必须为纯数字"), errors={"business_id": [_("必须为纯数字")]})
    if not doc_number or not doc_number.strip() or len(doc_number) > 100:
        raise UploadRejected(_("doc_number 不能为空"), errors={"doc_number": [_("不能为空，最长100个字符")]})
    if doc_type not in DocType.values:
        allowed = "、".join(DocType.values)
        message = _("doc_type 必须为以下值之一：%(allowed)s") % {"allowed": allowed}
        raise UploadRejected(message, errors={"doc_type": [message]})
    if product_type is not None and len(product_type) > 100:
        raise UploadRejected(_("product_type 过长"), errors={"product_type": [_("最长100个字符")]})


def file_problem(upload: UploadedFile) -> str | None:
    """Why this file cannot be accepted, or None."""
    extension = files.extension_of(upload.name)
    allowed = [ext.lower() for ext in settings.UPLOAD_ALLOWED_EXTENSIONS]
    if extension not in allowed:
        return _("不支持的文件格式 %(ext)s，支持：%(allowed)s") % {
            "ext": extension or _("（无扩展名）"),
            "allowed": " ".join(allowed),
        }
    if not upload.size:
        return _("文件为空")
    if upload.size > settings.MAX_FILE_SIZE:
        return _("文件大小超过 %(limit)s 限制") % {"limit": filesizeformat(settings.MAX_FILE_SIZE)}
    if not files.content_matches(extension, upload):
        return _("文件内容与扩展名 %(ext)s 不符") % {"ext": extension}
    return None


def validate_files(uploads: Sequence[UploadedFile]) -> None:
    if not uploads:
        raise UploadRejected(_("请至少选择一个文件"), errors={"files": [_("请至少选择一个文件")]})
    if len(uploads) > settings.MAX_FILES_PER_UPLOAD:
        message = _("单次最多上传%(n)s个文件") % {"n": settings.MAX_FILES_PER_UPLOAD}
        raise UploadRejected(message, code="too_many_files", errors={"files": [message]})
    problems = []
    for upload in uploads:
        reason = file_problem(upload)
        if reason:
            problems.append({"file_name": upload.name, "reason": reason})
    if problems:
        first = problems[0]
        message = _("文件 %(name)s：%(reason)s") % {"name": first["file_name"], "reason": first["reason"]}
        raise UploadRejected(message, code="invalid_file", errors={"files": problems})


def accept_upload(
    *,
    business_id: str,
    doc_number: str,
    doc_type: str,
    product_type: str | None,
    uploads: Sequence[UploadedFile],
    user=None,
) -> list[UploadRecord]:
    """Validate everything, store every file durably, insert the rows in one transaction, and
    enqueue their uploads once that transaction has committed."""
    doc_number = doc_number.strip()
    product_type = (product_type or "").strip() or None
    validate_document(business_id=business_id, doc_number=doc_number, doc_type=doc_type, product_type=product_type)
    validate_files(uploads)

    stored: list[tuple[UploadedFile, files.StoredFile]] = []
    try:
        for upload in uploads:
            name = files.generated_name(doc_number, files.extension_of(upload.name))
            stored.append((upload, files.store(upload, name=name)))
        # The directories the files are in: `upload_dir()` asked again could be next month's.
        for directory in {files.absolute_path(saved.relative_path).parent for _upload, saved in stored}:
            files.sync_directory(directory)
        now = timezone.now()
        rows = [
            UploadRecord(
                business_id=business_id,
                doc_number=doc_number,
                doc_type=doc_type,
                product_type=product_type,
                file_name=saved.name,
                original_name=(upload.name or "")[:255],
                file_size=saved.size,
                file_extension=files.extension_of(upload.name),
                sha256=saved.sha256,
                upload_time=now,
                status=UploadStatus.PENDING,
                local_file_path=saved.relative_path,
                uploaded_by=user if user is not None and user.is_authenticated else None,
                enqueued_at=now,
            )
            for upload, saved in stored
        ]
        with transaction.atomic():
            for row in rows:  # one by one: bulk_create returns no ids on SQLite < 3.35 setups
                row.save(force_insert=True)
            ids = [row.pk for row in rows]
            # One task for the request, which fans out one task per file from a worker: each
            # enqueue on the ORM broker is a database write the phone would otherwise wait for.
            transaction.on_commit(lambda: enqueue_fan_out(ids))
    except BaseException:
        for _upload, saved in stored:
            files.remove(saved.relative_path)
        raise
    logger.info(
        "upload accepted",
        extra={
            "business_id": business_id,
            "doc_number": doc_number,
            "records": ids,
            "bytes": sum(r.file_size for r in rows),
        },
    )
    return rows


def enqueue_fan_out(record_ids: list[int]) -> None:
    """Enqueue one task that enqueues the uploads of `record_ids` (see `enqueue_uploads`)."""
    from django_q.tasks import async_task

    if len(record_ids) == 1:
        enqueue_uploads(record_ids)
        return
    try:
        async_task(FAN_OUT_TASK, record_ids, group="uploads")
    except Exception:
        logger.exception("could not enqueue uploads", extra={"records": record_ids})


def enqueue_uploads(record_ids: Iterable[int]) -> None:
    """Hand rows to the workers. A broker failure is logged, not raised: the rows are safe and the
    recovery job enqueues them again once they have been pending too long."""
    from django_q.tasks import async_task

    for record_id in record_ids:
        try:
            async_task(UPLOAD_TASK, record_id, group="uploads")
        except Exception:
            logger.exception("could not enqueue upload", extra={"record_id": record_id})


# --- The concurrency cap ------------------------------------------------------------------------


def _ensure_slots(count: int) -> None:
    existing = UploadSlot.objects.filter(number__lte=count).count()
    if existing < count:
        UploadSlot.objects.bulk_create([UploadSlot(number=n) for n in range(1, count + 1)], ignore_conflicts=True)


def claim_slot(record_id: int) -> str | None:
    """Take one of YONYOU_MAX_CONCURRENCY slots (a conditional UPDATE on a free or expired slot);
    None when all are busy. Never waits."""
    cap = max(1, settings.YONYOU_MAX_CONCURRENCY)
    _ensure_slots(cap)
    now = timezone.now()
    token = secrets.token_hex(16)
    free = Q(holder_token__isnull=True) | Q(lease_expires_at__lt=now)
    candidates = list(UploadSlot.objects.filter(free, number__lte=cap).values_list("number", flat=True))
    random.shuffle(candidates)  # spread contention between workers
    for number in candidates:
        claimed = UploadSlot.objects.filter(free, number=number).update(
            holder_token=token, record_id=record_id, lease_expires_at=now + timedelta(seconds=settings.UPLOAD_LEASE_S)
        )
        if claimed:
            return token
    return None


def release_slot(token: str) -> None:
    UploadSlot.objects.filter(holder_token=token).update(holder_token=None, record_id=None, lease_expires_at=None)


# --- Transitions --------------------------------------------------------------------------------


class IllegalTransition(Exception):
    """The row is not in a state that allows this action."""


def start_attempt(record_id: int) -> str | None:
    """pending → uploading, under a fresh lease; None if another worker won or the row is not due."""
    now = timezone.now()
    token = secrets.token_hex(16)
    won = (
        UploadRecord.objects.alive()
        .filter(pk=record_id, status=UploadStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=UploadStatus.UPLOADING,
            uploading_at=now,
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=settings.UPLOAD_LEASE_S),
            next_attempt_at=None,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    return token if won else None


def mark_success(record_id: int, *, yonyou_file_id: str, duration_ms: int | None = None) -> bool:
    """uploading (or pending again after a recovery) → success. The file is in the cloud either way."""
    now = timezone.now()
    return bool(
        UploadRecord.objects.filter(pk=record_id, status__in=[UploadStatus.UPLOADING, UploadStatus.PENDING]).update(
            status=UploadStatus.SUCCESS,
            yonyou_file_id=yonyou_file_id,
            succeeded_at=now,
            lease_token=None,
            lease_expires_at=None,
            next_attempt_at=None,
            error_code=None,
            error_message=None,
            last_attempt_ms=duration_ms,
            updated_at=now,
        )
    )


def mark_failed(record_id: int, lease_token: str, *, code: str, message: str, duration_ms: int | None = None) -> bool:
    now = timezone.now()
    failed = bool(
        UploadRecord.objects.filter(pk=record_id, status=UploadStatus.UPLOADING, lease_token=lease_token).update(
            status=UploadStatus.FAILED,
            failed_at=now,
            error_code=code[:50],
            error_message=message,
            lease_token=None,
            lease_expires_at=None,
            last_attempt_ms=duration_ms,
            updated_at=now,
        )
    )
    if failed:
        _alert_upload_failed(record_id)
    return failed


def _alert_upload_failed(record_id: int) -> None:
    """The record failed for good: raise its document's `upload_failed` alert now rather than at
    the rule's next evaluation. The record is already failed; an alerting error must not undo
    that (the evaluation raises the alert a minute later)."""
    from uploads.alert_rules import upload_failed_for_good

    try:
        upload_failed_for_good(record_id=record_id)
    except Exception:
        logger.exception("could not raise the upload_failed alert", extra={"record_id": record_id})


def retry_delay_s(retry_number: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (half fixed, half random), never shorter than Retry-After."""
    ceiling = min(settings.UPLOAD_RETRY_MAX_S, settings.UPLOAD_RETRY_BASE_S * 2 ** max(0, retry_number - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not security)
    return max(delay, retry_after or 0.0)


def mark_retry_or_failed(
    record_id: int, lease_token: str, *, code: str, message: str, retry_after: float | None, duration_ms: int | None
) -> str:
    """After a retryable failure: back to pending with a backoff, or failed when the budget is spent."""
    record = UploadRecord.objects.get(pk=record_id)
    if record.retry_count + 1 >= settings.MAX_RETRY_COUNT:
        mark_failed(record_id, lease_token, code=code, message=message, duration_ms=duration_ms)
        return UploadStatus.FAILED
    now = timezone.now()
    retry_number = record.retry_count + 1
    UploadRecord.objects.filter(pk=record_id, status=UploadStatus.UPLOADING, lease_token=lease_token).update(
        status=UploadStatus.PENDING,
        retry_count=retry_number,
        error_code=code[:50],
        error_message=message,
        next_attempt_at=now + timedelta(seconds=retry_delay_s(retry_number, retry_after)),
        lease_token=None,
        lease_expires_at=None,
        last_attempt_ms=duration_ms,
        updated_at=now,
    )
    return UploadStatus.PENDING


def mark_waiting_for_slot(record_id: int) -> None:
    """Every slot is busy: the row is due now, for whoever frees a slot (or the sweep) to dispatch."""
    UploadRecord.objects.filter(pk=record_id, status=UploadStatus.PENDING, next_attempt_at__isnull=True).update(
        next_attempt_at=timezone.now()
    )


# --- The background upload ----------------------------------------------------------------------


def upload_to_yonyou(record_id: int) -> str:
    """One attempt to put a pending row's file into Yonyou. Safe to run twice, or for a stale task."""
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
    try:
        lease = start_attempt(record_id)
        if lease is None:
            return "skipped"
        return _attempt(UploadRecord.objects.get(pk=record_id), lease)
    finally:
        release_slot(slot)
        # Hand the freed slot to the row that has waited longest.
        dispatch_due_uploads(limit=1)


def _attempt(record: UploadRecord, lease: str) -> str:
    from yonyou.client import business_type_for, get_client
    from yonyou.errors import PermanentError, RetryableError

    started = time.monotonic()
    log = {"record_id": record.pk, "file_name": record.file_name, "attempt": record.attempts}

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

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
                mark_success(record.pk, yonyou_file_id=existing, duration_ms=elapsed_ms())
                logger.info("upload found already in Yonyou", extra=log)
                return UploadStatus.SUCCESS
        with open(files.absolute_path(record.local_file_path), "rb") as fileobj:
            uploaded = client.upload_attachment(
                business_type=business_type,
                business_id=record.business_id,
                file_name=record.file_name,
                fileobj=fileobj,
            )
    except RetryableError as error:
        outcome = mark_retry_or_failed(
            record.pk,
            lease,
            code=error.code,
            message=error.message,
            retry_after=error.retry_after,
            duration_ms=elapsed_ms(),
        )
        logger.warning("upload attempt failed", extra={**log, "error_code": error.code, "outcome": outcome})
        return outcome
    except PermanentError as error:
        mark_failed(record.pk, lease, code=error.code, message=error.message, duration_ms=elapsed_ms())
        logger.warning("upload refused by Yonyou", extra={**log, "error_code": error.code})
        return UploadStatus.FAILED
    except FileNotFoundError:
        mark_failed(record.pk, lease, code="local_file_missing", message=_("本地文件已丢失"), duration_ms=elapsed_ms())
        logger.error("local file missing", extra=log)
        return UploadStatus.FAILED
    except Exception as error:
        mark_failed(record.pk, lease, code="internal_error", message=repr(error)[:2000], duration_ms=elapsed_ms())
        logger.exception("upload attempt crashed", extra=log)
        return UploadStatus.FAILED
    mark_success(record.pk, yonyou_file_id=uploaded.file_id, duration_ms=elapsed_ms())
    logger.info("uploaded to Yonyou", extra={**log, "yonyou_file_id": uploaded.file_id, "ms": elapsed_ms()})
    return UploadStatus.SUCCESS


def _find_in_cloud(client, record: UploadRecord, business_type: str) -> str | None:
    attachments = client.list_attachments(
        business_type=business_type, business_id=record.business_id, bill_code=record.doc_number
    )
    for attachment in attachments:
        if attachment.file_name == record.file_name:
            return attachment.file_id
    return None


# --- Dispatch and recovery ----------------------------------------------------------------------


def dispatch_due_uploads(*, limit: int = 200) -> int:
    """Enqueue pending rows whose `next_attempt_at` has come. Each row is taken by a conditional
    UPDATE (next_attempt_at → NULL), so two dispatchers never enqueue the same row twice."""
    now = timezone.now()
    due = list(
        UploadRecord.objects.alive()
        .filter(status=UploadStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    taken = []
    for record_id, due_at in due:
        if UploadRecord.objects.filter(pk=record_id, status=UploadStatus.PENDING, next_attempt_at=due_at).update(
            next_attempt_at=None, enqueued_at=now
        ):
            taken.append(record_id)
    enqueue_uploads(taken)
    return len(taken)


def requeue_stalled_uploads() -> dict:
    """Revive rows whose task vanished: `uploading` past its lease (worker died) and `pending` whose
    task was enqueued too long ago; then dispatch every due row."""
    now = timezone.now()
    recovered = 0
    expired = UploadRecord.objects.alive().filter(status=UploadStatus.UPLOADING, lease_expires_at__lt=now)
    for record_id, lease in expired.values_list("pk", "lease_token"):
        recovered += UploadRecord.objects.filter(pk=record_id, status=UploadStatus.UPLOADING, lease_token=lease).update(
            status=UploadStatus.PENDING,
            lease_token=None,
            lease_expires_at=None,
            next_attempt_at=now,
            error_code="lease_expired",
            error_message=_("上传进程中断，已重新排队"),
            updated_at=now,
        )
    stale_before = now - timedelta(seconds=settings.UPLOAD_PENDING_STALE_S)
    requeued = (
        UploadRecord.objects.alive()
        .filter(status=UploadStatus.PENDING, next_attempt_at__isnull=True)
        .filter(Q(enqueued_at__lt=stale_before) | Q(enqueued_at__isnull=True))
        .update(next_attempt_at=now)
    )
    dispatched = dispatch_due_uploads(limit=1000)
    if recovered or requeued:
        logger.warning("stalled uploads revived", extra={"recovered": recovered, "requeued": requeued})
    return {"recovered_uploading": recovered, "requeued_pending": requeued, "dispatched": dispatched}


# --- Staff actions ------------------------------------------------------------------------------


def retry_failed(record_ids: Iterable[int]) -> int:
    """failed → pending with a fresh retry budget, enqueued on commit. Other states are left alone."""
    now = timezone.now()
    ids = list(record_ids)
    with transaction.atomic():
        retried = list(
            UploadRecord.objects.alive().filter(pk__in=ids, status=UploadStatus.FAILED).values_list("pk", flat=True)
        )
        UploadRecord.objects.filter(pk__in=retried, status=UploadStatus.FAILED).update(
            status=UploadStatus.PENDING,
            retry_count=0,
            next_attempt_at=None,
            enqueued_at=now,
            updated_at=now,
        )
        transaction.on_commit(lambda: enqueue_uploads(retried))
    logger.info("failed uploads retried", extra={"records": retried})
    return len(retried)


def retry_one(record_id: int) -> None:
    if not retry_failed([record_id]):
        raise IllegalTransition(f"upload {record_id} is not failed")


def soft_delete(record_ids: Iterable[int]) -> int:
    """Hide records (`deleted_at`, as in the seed); the rows and files stay for audit."""
    now = timezone.now()
    return UploadRecord.objects.alive().filter(pk__in=list(record_ids)).update(deleted_at=now, updated_at=now)


def purge_local_copies() -> int:
    """Delete local copies of uploads that succeeded more than UPLOAD_LOCAL_RETENTION_DAYS ago.
    Unfinished or failed uploads keep their file whatever their age."""
    files.remove_stale_staging()
    days = settings.UPLOAD_LOCAL_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    old = UploadRecord.objects.filter(
        status=UploadStatus.SUCCESS, succeeded_at__lt=cutoff, local_file_deleted_at__isnull=True
    ).values_list("pk", "local_file_path")
    purged = 0
    for record_id, path in old.iterator(chunk_size=500):
        files.remove(path)
        purged += UploadRecord.objects.filter(pk=record_id, status=UploadStatus.SUCCESS).update(
            local_file_deleted_at=timezone.now()
        )
    return purged
