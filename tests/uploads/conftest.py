"""Fixtures of the uploads tests: real image bytes, signed links, records, and cleanup of the
files that uploads store under DATA_DIR."""

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from uploads import links, services


def png_bytes(width: int = 4, height: int = 4, colour: tuple[int, int, int] = (20, 99, 255)) -> bytes:
    """A real, valid PNG (browsers display it as a thumbnail)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(colour) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg_bytes(size: int = 2048) -> bytes:
    """Bytes that start like a JPEG (JFIF) — the magic bytes are what the upload checks."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return head + bytes(range(256)) * (size // 256) + b"\xff\xd9"


@pytest.fixture(autouse=True)
def _one_row_per_task_call(settings):
    """A task called in a test attempts the row it names and stops, as the tests of one attempt
    expect; the tests of draining (test_drain.py) give it a budget back."""
    settings.UPLOAD_DRAIN_BUDGET_S = 0


@pytest.fixture
def document():
    return {"business_id": "1836660026080493581", "doc_number": "SO20251021-0001", "doc_type": "销售"}


@pytest.fixture
def signed_link(document):
    return links.create_link(**document)


@pytest.fixture(autouse=True, scope="session")
def _media_of_this_test_process():
    """Stored files go under DATA_DIR/test-media-<pid>: inside DATA_DIR, so a qcluster child
    (which shares DATA_DIR) finds them by their relative path, and apart from other test runs."""
    media = Path(settings.DATA_DIR) / f"test-media-{os.getpid()}"
    with override_settings(MEDIA_ROOT=media):
        yield media
    shutil.rmtree(media, ignore_errors=True)


@pytest.fixture(autouse=True)
def _remove_stored_files(_media_of_this_test_process):
    """Uploads write real files under MEDIA_ROOT/uploads; remove the ones a test created."""
    root = Path(settings.MEDIA_ROOT) / "uploads"
    before = set(root.rglob("*")) if root.exists() else set()
    yield
    if root.exists():
        for path in sorted(set(root.rglob("*")) - before, reverse=True):
            if path.is_file():
                path.unlink(missing_ok=True)


@pytest.fixture
def make_records(document):
    """Accept an upload through the service (as the API does) and return its rows."""

    def make(count: int = 1, **overrides):
        fields = {**document, "product_type": None, **overrides}
        uploads = [SimpleUploadedFile(f"photo{i}.jpg", jpeg_bytes(), "image/jpeg") for i in range(count)]
        return services.accept_upload(uploads=uploads, **fields)

    return make
