"""Stored photos: what a photo really is (magic bytes), and keeping it durably where every host
can read it.

Where stored files live is a setting: by default the local disk under DATA_DIR (one host, or hosts
sharing that directory), or an S3-compatible object store (`STORAGE_S3_BUCKET`: S3, Aliyun OSS,
MinIO) reached through Django's storage API as `storages["uploads"]`, so that a worker on another
host reads what a web host took. Request bodies are always received on the local disk first
(`staging_dir()`), and every stored file is named by its `relative_path` (a path under DATA_DIR,
or the object's key) whichever backend holds it.
"""

import hashlib
import os
import re
import secrets
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, MemoryFileUploadHandler
from django.utils import timezone

CHUNK = 256 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _is_jpeg(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _is_png(head: bytes) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _is_gif(head: bytes) -> bool:
    return head[:6] in (b"GIF87a", b"GIF89a")


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _is_heif(head: bytes) -> bool:
    return head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim")


def _is_pdf(head: bytes) -> bool:
    return head.startswith(b"%PDF-")


SNIFFERS = {
    ".jpg": _is_jpeg,
    ".jpeg": _is_jpeg,
    ".png": _is_png,
    ".gif": _is_gif,
    ".webp": _is_webp,
    ".heic": _is_heif,
    ".heif": _is_heif,
    ".pdf": _is_pdf,
}


def extension_of(name: str) -> str:
    return os.path.splitext(name or "")[1].lower()


def content_matches(extension: str, fileobj: BinaryIO) -> bool:
    """True when the first bytes are what the extension promises (a text file named .jpg is not)."""
    sniff = SNIFFERS.get(extension)
    if sniff is None:
        return False
    fileobj.seek(0)
    head = fileobj.read(32)
    fileobj.seek(0)
    return sniff(head)


def generated_name(doc_number: str, extension: str) -> str:
    """`{doc_number}_{timestamp}_{random}{ext}`, safe as a path component whatever doc_number holds."""
    safe = _UNSAFE.sub("_", doc_number).strip("_")[:60] or "DOC"
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
    return f"{safe}_{stamp}_{secrets.token_hex(4)}{extension}"


@dataclass(frozen=True)
class StoredFile:
    name: str
    relative_path: str
    size: int
    sha256: str


def upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads" / timezone.localtime().strftime("%Y/%m")


def staging_dir() -> Path:
    """Where request bodies land while they are received: on the same filesystem as the stored
    files, so that accepting a file is a hard link, not a second copy."""
    return Path(settings.MEDIA_ROOT) / "uploads" / ".incoming"


class StagedUploadedFile(UploadedFile):
    """An uploaded file received into `staging_dir()`, hashed on the way in; removed on close."""

    def __init__(self, name, content_type, charset, content_type_extra, directory: Path):
        fileobj = tempfile.NamedTemporaryFile(suffix=".part", dir=directory)  # noqa: SIM115 (closed with the upload)
        super().__init__(fileobj, name, content_type, 0, charset, content_type_extra)
        self.sha256 = ""

    def temporary_file_path(self) -> str:
        return self.file.name

    def close(self):
        try:
            return self.file.close()
        except FileNotFoundError:
            pass


class StagingUploadHandler(FileUploadHandler):
    """Streams each file of an upload request into `staging_dir()`, computing its sha256 as the
    bytes arrive: memory stays flat and the file is never read back just to hash or copy it.
    Every staging file it opened is removed by `discard_staging` when the request ends."""

    def __init__(self, request=None):
        super().__init__(request)
        self.staged: list[StagedUploadedFile] = []

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        directory = staging_dir()
        directory.mkdir(parents=True, exist_ok=True)
        self.file = StagedUploadedFile(
            self.file_name, self.content_type, self.charset, self.content_type_extra, directory
        )
        self.staged.append(self.file)
        self.digest = hashlib.sha256()
        self.written = 0

    def upload_interrupted(self):
        self.discard()

    def discard(self) -> None:
        """Close (and so delete) every staging file of this request. Accepted files live on under
        their stored name, a second hard link; a file cut short by a disconnect goes for good."""
        for staged in self.staged:
            staged.close()

    def receive_data_chunk(self, raw_data, start):
        # Past MAX_FILE_SIZE the file will be refused anyway: stop spending disk on it (a chunked
        # body has no Content-Length to refuse it by), but keep counting so its size is reported.
        room = settings.MAX_FILE_SIZE + 1 - self.written
        if room > 0:
            kept = raw_data[:room]
            self.digest.update(kept)
            self.file.write(kept)
            self.written += len(kept)

    def file_complete(self, file_size):
        self.file.flush()
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self.digest.hexdigest()
        return self.file


def use_staging_handlers(request) -> None:
    """Call before the body is read: small bodies stay in memory, files go to `staging_dir()`."""
    request.upload_handlers = [MemoryFileUploadHandler(request), StagingUploadHandler(request)]


def discard_staging(request) -> None:
    """Call when an upload request ends, however it ends (answered, refused, client gone, crashed):
    no staging file, and no open handle on one, outlives the request."""
    for handler in getattr(request, "_upload_handlers", None) or []:
        if isinstance(handler, StagingUploadHandler):
            handler.discard()


def remove_stale_staging(max_age_s: float | None = None) -> int:
    """Staging files nobody wrote to for UPLOAD_STAGING_MAX_AGE_S: left by a process that died
    mid-request (a live request removes its own, and keeps writing to the one it receives)."""
    directory = staging_dir()
    if not directory.exists():
        return 0
    cutoff = time.time() - (settings.UPLOAD_STAGING_MAX_AGE_S if max_age_s is None else max_age_s)
    removed = 0
    for path in directory.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


class StoredFileUnavailable(OSError):
    """The object store could not be reached or refused the request: worth trying again later.
    Shaped like the ERP client's RetryableError, so a delivery attempt treats both alike."""

    code = "storage_unavailable"
    retry_after = None

    @property
    def message(self) -> str:
        return str(self)[:2000]


def object_store() -> Storage | None:
    """The object store holding stored files, or None when they are on the local disk."""
    if "uploads" not in settings.STORAGES:
        return None
    return storages["uploads"]


def absolute_path(relative_path: str) -> Path:
    return Path(settings.DATA_DIR) / relative_path


def open_stored(relative_path: str) -> BinaryIO:
    """Open a stored file for reading, wherever it is kept; FileNotFoundError when it is gone.

    From the object store, the object is streamed into a temporary file that spills to disk past
    `STORAGE_S3_MAX_MEMORY_SIZE`: memory stays flat whatever the photo's size, and the file can be
    read again from the start (a retried ERP call sends it again)."""
    store = object_store()
    if store is None:
        return open(absolute_path(relative_path), "rb")
    from storages.utils import clean_name

    copy = tempfile.SpooledTemporaryFile(max_size=settings.STORAGE_S3_MAX_MEMORY_SIZE)  # noqa: SIM115 (returned)
    try:
        with _object_store_errors():
            # GetObject read in CHUNKs, not boto3's download manager (which buffers parts in a
            # queue): what is held at once is one chunk plus the in-memory part of the copy.
            key = store._normalize_name(clean_name(relative_path))
            body = store.connection.meta.client.get_object(Bucket=store.bucket_name, Key=key)["Body"]
            with closing(body):
                for chunk in body.iter_chunks(CHUNK):
                    copy.write(chunk)
        copy.seek(0)
    except BaseException:
        copy.close()
        raise
    return copy


def store(fileobj: BinaryIO, *, name: str) -> StoredFile:
    """Copy an uploaded file under `name` so it survives a crash right after we answer: on the
    local disk fsynced, in the object store once the store has acknowledged the whole object.

    The caller then calls `sync_directories` once for a request's files."""
    if object_store() is not None:
        return _store_in_object_store(fileobj, name)
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    if isinstance(fileobj, StagedUploadedFile):
        return _store_staged(fileobj, final)
    partial = directory / (name + ".part")
    digest = hashlib.sha256()
    size = 0
    fileobj.seek(0)
    try:
        with open(partial, "xb") as out:
            while chunk := fileobj.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, settings.FILE_UPLOAD_PERMISSIONS or 0o640)
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return StoredFile(
        name=name,
        relative_path=str(final.relative_to(Path(settings.DATA_DIR))),
        size=size,
        sha256=digest.hexdigest(),
    )


def _store_staged(upload: StagedUploadedFile, final: Path) -> StoredFile:
    upload.file.flush()
    os.fsync(upload.file.fileno())
    os.chmod(upload.temporary_file_path(), settings.FILE_UPLOAD_PERMISSIONS or 0o640)
    # A second name for the same bytes; the staging name goes away when the upload is closed.
    os.link(upload.temporary_file_path(), final)
    return StoredFile(
        name=final.name,
        relative_path=str(final.relative_to(Path(settings.DATA_DIR))),
        size=upload.size,
        sha256=upload.sha256,
    )


def _store_in_object_store(fileobj: BinaryIO, name: str) -> StoredFile:
    if isinstance(fileobj, StagedUploadedFile):
        sha256, size = fileobj.sha256, fileobj.size
    else:  # a small body kept in memory by MemoryFileUploadHandler: hash it first
        digest, size = hashlib.sha256(), 0
        fileobj.seek(0)
        while chunk := fileobj.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        sha256 = digest.hexdigest()
    fileobj.seek(0)
    key = f"uploads/{timezone.localtime().strftime('%Y/%m')}/{name}"
    # The store answers a PUT (or the last part of a multipart upload) only once the object is
    # stored: that answer is our fsync. Names are unique, so nothing is looked up before.
    with _object_store_errors():
        key = object_store().save(key, fileobj)
    return StoredFile(name=name, relative_path=key, size=size, sha256=sha256)


class _object_store_errors:
    """Turns the object store's own errors (botocore) into StoredFileUnavailable, and a missing
    object into FileNotFoundError, so callers never depend on the backend's exceptions."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or isinstance(error, OSError):
            return False
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, ClientError):
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = error.response.get("Error", {}).get("Code")
            if status == 404 or code in ("NoSuchKey", "404"):
                raise FileNotFoundError(str(error)) from error
            raise StoredFileUnavailable(str(error)) from error
        if isinstance(error, BotoCoreError | Boto3Error):
            raise StoredFileUnavailable(str(error)) from error
        return False


def remove(relative_path: str) -> None:
    """Delete a stored file; one already gone is not an error."""
    store = object_store()
    if store is None:
        absolute_path(relative_path).unlink(missing_ok=True)
        return
    with _object_store_errors():
        store.delete(relative_path)


def sync_directories(relative_paths) -> None:
    """Make the stored names of a request's files durable: one directory fsync per directory on
    the local disk; nothing to do for the object store, whose answer to each PUT already was."""
    if object_store() is not None:
        return
    for directory in {absolute_path(path).parent for path in relative_paths}:
        sync_directory(directory)


def sync_directory(directory: Path) -> None:
    """A rename is only durable once the directory entry is on disk: call once after `store`s."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
