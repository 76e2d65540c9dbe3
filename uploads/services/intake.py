"""Accepting an upload: validate the request, store every file durably, insert the rows in one
transaction, and hand them to the workers once that transaction has committed."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from uploads import files
from uploads.models import ClientRequest, DocType, UploadRecord, UploadStatus
from uploads.services.dispatch import enqueue_fan_out

logger = logging.getLogger(__name__)


@dataclass
class UploadRejected(Exception):
    """The request is refused as a whole; nothing was stored."""

    message: str
    code: str = "invalid"
    errors: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class IdempotencyKeyReused(UploadRejected):
    """The key already named a request for another document: refused, nothing stored."""


@dataclass(frozen=True)
class ClientKey:
    """A client's `Idempotency-Key`, within who sent it ("user:<id>" or "link:<hash>")."""

    scope: str
    key: str


@dataclass
class Accepted:
    records: list[UploadRecord]
    replayed: bool = False  # the key's request had been stored before; nothing new was stored


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
    fields = {"business_id": business_id, "doc_number": doc_number, "doc_type": doc_type}
    return _accept(**fields, product_type=product_type, uploads=uploads, user=user, client_key=None).records


def accept_upload_once(
    *,
    client_key: ClientKey,
    business_id: str,
    doc_number: str,
    doc_type: str,
    product_type: str | None,
    uploads: Sequence[UploadedFile],
    user=None,
) -> Accepted:
    """`accept_upload`, except that a request whose key was stored before stores nothing and is
    answered with the rows of the first one (`replayed`), however many repeats run at once."""
    fields = {"business_id": business_id, "doc_number": doc_number, "doc_type": doc_type}
    return _accept(**fields, product_type=product_type, uploads=uploads, user=user, client_key=client_key)


def _first_request_of(client_key: ClientKey, *, document: dict, sha256s: list[str]) -> Accepted | None:
    """The records the key's first request stored, if this request is the same one sent again."""
    earlier = ClientRequest.objects.filter(scope=client_key.scope, key=client_key.key).first()
    if earlier is None:
        return None
    records = list(earlier.records.order_by("pk"))
    asked = (document["business_id"], document["doc_number"], document["doc_type"])
    same_document = all((r.business_id, r.doc_number, r.doc_type) == asked for r in records)
    # Other photos under the same key (a no-JavaScript form sent again after Back and a new
    # choice) must not be answered with the first photos as if they had been stored.
    if not same_document or sorted(r.sha256 for r in records) != sorted(sha256s):
        message = _(
            "该 Idempotency-Key 已用于另一次上传（单据或照片不同）：请刷新页面后重新上传，或为每次上传使用新的键"
        )
        raise IdempotencyKeyReused(message, code="idempotency_key_reused")
    return Accepted(records=records, replayed=True)


def _accept(
    *,
    business_id: str,
    doc_number: str,
    doc_type: str,
    product_type: str | None,
    uploads: Sequence[UploadedFile],
    user,
    client_key: ClientKey | None,
) -> Accepted:
    doc_number = doc_number.strip()
    product_type = (product_type or "").strip() or None
    validate_document(business_id=business_id, doc_number=doc_number, doc_type=doc_type, product_type=product_type)
    validate_files(uploads)
    document = {"business_id": business_id, "doc_number": doc_number, "doc_type": doc_type}

    stored: list[tuple[UploadedFile, files.StoredFile]] = []
    committed = False

    def after_commit(ids: list[int]) -> None:
        nonlocal committed
        committed = True  # from here on the rows exist and own the files
        # One task for the request, which fans out one task per file from a worker: each
        # enqueue on the ORM broker is a database write the phone would otherwise wait for.
        enqueue_fan_out(ids)

    try:
        for upload in uploads:
            name = files.generated_name(doc_number, files.extension_of(upload.name))
            stored.append((upload, files.store(upload, name=name)))
        # The directories the files are in: `upload_dir()` asked again could be next month's.
        files.sync_directories([saved.relative_path for _upload, saved in stored])
        now = timezone.now()
        rows = [
            UploadRecord(
                **document,
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
        try:
            with transaction.atomic():
                if client_key is not None:
                    # First, so that a concurrent repeat waits here on the unique index (or, on
                    # SQLite, on the write lock) until this request commits or rolls back.
                    request = ClientRequest.objects.create(scope=client_key.scope, key=client_key.key)
                    for row in rows:
                        row.client_request = request
                for row in rows:  # one by one: bulk_create returns no ids on SQLite < 3.35 setups
                    row.save(force_insert=True)
                ids = [row.pk for row in rows]
                # robust: a broker failure is logged; the committed rows wait for the recovery sweep.
                transaction.on_commit(lambda: after_commit(ids), robust=True)
        except IntegrityError:
            # Checked after storing, not before: only the constraint decides between two repeats
            # sent at once. The files this repeat stored are removed below.
            sha256s = [saved.sha256 for _upload, saved in stored]
            earlier = _first_request_of(client_key, document=document, sha256s=sha256s) if client_key else None
            if earlier is None:
                raise
            for _upload, saved in stored:
                files.remove(saved.relative_path)
            stored.clear()
            logger.info("upload repeated, answered with the first request's records", extra={**document})
            return earlier
    except BaseException:
        # Only files no committed row refers to: an enqueue that fails (or a worker aborted
        # while enqueueing) after the commit must not take a pending upload's file with it.
        if not committed:
            for _upload, saved in stored:
                files.remove(saved.relative_path)
        raise
    logger.info(
        "upload accepted",
        extra={**document, "records": ids, "bytes": sum(r.file_size for r in rows)},
    )
    return Accepted(records=rows)
