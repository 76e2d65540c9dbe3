"""Anonymous requests cannot fill the disk: credentials outside the body are checked before a byte
of it is read, staging files never outlive their request, and leftovers are swept in minutes."""

import io
import os
import time

import pytest
from django.core.handlers.wsgi import LimitedStream
from django.test import RequestFactory
from django.test.client import BOUNDARY, encode_multipart

from tests.uploads.conftest import jpeg_bytes
from uploads import files, services
from uploads.api import UploadView
from uploads.models import UploadRecord
from uploads.views import upload_page


class UnreadableBody(io.RawIOBase):
    """A request body that must not be read: reading it fails the test."""

    def readable(self):
        return True

    def readinto(self, buffer):
        raise AssertionError("the body was read before the caller was authorised")


class BodyCutShort(io.RawIOBase):
    """The first `keep` bytes of a body, then the client is gone (gunicorn raises on the read)."""

    def __init__(self, body: bytes, keep: int):
        self.data = io.BytesIO(body[:keep])

    def readable(self):
        return True

    def readinto(self, buffer):
        read = self.data.readinto(buffer)
        if read == 0:
            raise OSError("client disconnected")
        return read


def multipart_request(path: str, document: dict, body_stream=None, *, size: int = 900 * 1024, **extra):
    body = encode_multipart(BOUNDARY, {**document, "files": [_photo(size)]})
    request = RequestFactory().post(path, data=body, content_type=f"multipart/form-data;boundary={BOUNDARY}", **extra)
    if body_stream is not None:
        request._stream = LimitedStream(body_stream(body) if callable(body_stream) else body_stream, len(body))
    return request


def _photo(size: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("big.jpg", jpeg_bytes(size), "image/jpeg")


def staging_files() -> list:
    directory = files.staging_dir()
    return sorted(directory.iterdir()) if directory.exists() else []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/upload?sig=forged", {}),
        ("/api/upload", {"headers": {"X-Upload-Signature": "forged"}}),
        ("/api/upload", {"headers": {"Authorization": "Token not-a-token"}}),
        ("/uploads/?sig=forged", {}),
        ("/uploads/", {}),  # the page posts back to its own URL, link included: none here
    ],
)
def test_a_caller_refused_by_what_it_sends_outside_the_body_is_refused_before_the_body_is_read(document, path, extra):
    from django.contrib.auth.models import AnonymousUser

    request = multipart_request(path, document, UnreadableBody(), **extra)
    request.user = AnonymousUser()
    request.session = {}
    request._dont_enforce_csrf_checks = True  # as if its CSRF cookie and token were right
    view = upload_page if path.startswith("/uploads/") else UploadView.as_view()

    response = view(request)

    assert response.status_code in (401, 403)
    assert staging_files() == []
    assert not UploadRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/upload", "/uploads/"])
def test_a_body_cut_short_leaves_no_staging_file_and_no_open_handle(document, signed_link, path):
    from django.contrib.auth.models import AnonymousUser

    request = multipart_request(
        f"{path}?sig={signed_link.signature}", document, lambda body: BodyCutShort(body, keep=len(body) // 2)
    )
    request.user = AnonymousUser()
    request.session = {}
    request._dont_enforce_csrf_checks = True
    view = upload_page if path == "/uploads/" else UploadView.as_view()

    with pytest.raises(Exception) as cut:
        view(request)

    # The traceback (kept here as a logging handler would keep it) still references the request;
    # the staging file must be gone anyway, not left to the garbage collector.
    assert cut.value is not None
    assert staging_files() == []
    assert not UploadRecord.objects.exists()


@pytest.mark.django_db
def test_the_minute_sweep_removes_staging_files_left_by_dead_requests(settings):
    settings.UPLOAD_STAGING_MAX_AGE_S = 600
    files.staging_dir().mkdir(parents=True, exist_ok=True)
    stale, fresh = files.staging_dir() / "dead.part", files.staging_dir() / "live.part"
    stale.write_bytes(b"x" * 1024)
    fresh.write_bytes(b"y")
    eleven_minutes_ago = time.time() - 660  # time travel on the file, not the clock
    os.utime(stale, (eleven_minutes_ago, eleven_minutes_ago))

    assert services.requeue_stalled_uploads()["staging_removed"] == 1

    assert not stale.exists() and fresh.exists()
    fresh.unlink()
