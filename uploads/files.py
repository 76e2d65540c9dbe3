"""Local file handling: what a photo really is (magic bytes), and writing it durably to DATA_DIR."""

import hashlib
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
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


def absolute_path(relative_path: str) -> Path:
    return Path(settings.DATA_DIR) / relative_path


def store(fileobj: BinaryIO, *, name: str) -> StoredFile:
    """Copy an uploaded file under `name`, fsynced, so it survives a crash right after we answer.

    The caller fsyncs the files' directory once after storing a request's files (`sync_directory`)."""
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


def remove(relative_path: str) -> None:
    absolute_path(relative_path).unlink(missing_ok=True)


def sync_directory(directory: Path) -> None:
    """A rename is only durable once the directory entry is on disk: call once after `store`s."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
