"""Stored photos in an S3-compatible object store (STORAGE_S3_BUCKET), against moto's server mode:
stored before the answer, delivered to Yonyou from there, exported from there with flat memory,
and purged there. No local copy is ever needed on the host that reads them."""

import hashlib
import tempfile
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.conftest import free_port
from tests.uploads.conftest import jpeg_bytes, png_bytes
from uploads import files, services, tasks
from uploads.models import UploadRecord, UploadStatus


def stored_object(object_store, key: str) -> bytes:
    server, bucket = object_store
    return server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def local_uploads() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "uploads"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.django_db
def test_upload_is_in_the_object_store_before_the_answer_and_nothing_stays_on_the_web_host(
    object_store, client, document, signed_link
):
    small = png_bytes()
    large = jpeg_bytes(600 * 1024)  # past FILE_UPLOAD_MAX_MEMORY_SIZE: received into a staging file
    before = set(local_uploads())

    response = client.post(
        "/api/upload",
        {
            **document,
            "sig": signed_link.signature,
            "files": [
                SimpleUploadedFile("a.png", small, "image/png"),
                SimpleUploadedFile("b.jpg", large, "image/jpeg"),
            ],
        },
    )

    assert response.status_code == 200, response.content
    records = {r.original_name: r for r in UploadRecord.objects.all()}
    for name, content in (("a.png", small), ("b.jpg", large)):
        record = records[name]
        assert record.status == UploadStatus.PENDING
        assert record.local_file_path.startswith("uploads/") and record.local_file_path.endswith(record.file_name)
        assert stored_object(object_store, record.local_file_path) == content
        assert record.sha256 == hashlib.sha256(content).hexdigest() and record.file_size == len(content)
    assert set(local_uploads()) - before == set(), "neither a stored file nor a staging file on this host"


@pytest.mark.django_db
def test_upload_is_delivered_to_yonyou_from_the_object_store(object_store, sandbox, make_records):
    record = make_records(1)[0]
    assert not files.absolute_path(record.local_file_path).exists()

    assert tasks.upload_record(record.pk) == UploadStatus.SUCCESS

    (cloud,) = sandbox.state()["files"]
    assert cloud["file_name"] == record.file_name
    assert cloud["sha256"] == record.sha256 == hashlib.sha256(jpeg_bytes()).hexdigest()


@pytest.mark.django_db
def test_object_store_outage_is_retried_and_a_missing_object_fails_clearly(
    object_store, object_store_server, sandbox, make_records, settings
):
    server, bucket = object_store
    unreachable, missing = make_records(2)
    server.client().delete_object(Bucket=bucket, Key=missing.local_file_path)
    assert tasks.upload_record(missing.pk) == UploadStatus.FAILED
    assert UploadRecord.objects.get(pk=missing.pk).error_code == "local_file_missing"

    # The same bucket, behind an endpoint nobody listens on: the object is there, the store is not.
    down = server.storages(bucket)
    down["uploads"]["OPTIONS"].update(
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        client_config=down["uploads"]["OPTIONS"]["client_config"].merge(
            Config(retries={"max_attempts": 1, "mode": "standard"})
        ),
    )
    settings.STORAGES = down

    assert tasks.upload_record(unreachable.pk) == UploadStatus.PENDING
    row = UploadRecord.objects.get(pk=unreachable.pk)
    assert row.error_code == "storage_unavailable" and row.retry_count == 1 and row.next_attempt_at is not None
    assert sandbox.state()["files"] == []


@pytest.mark.django_db
def test_export_streams_photos_from_the_object_store_with_flat_memory(object_store, staff_api, make_records):
    # Memory held was the same (3.4 MB, mostly the first MiB of a photo kept in memory, copied
    # once as it spills to disk) for 2 MiB and 4 MiB photos: it does not follow their size.
    photo = jpeg_bytes(4 * 1024 * 1024)
    records = []
    for i in range(3):
        upload = SimpleUploadedFile(f"big{i}.jpg", photo, "image/jpeg")
        records += services.accept_upload(
            business_id="1", doc_number=f"SO-BIG-{i}", doc_type="销售", product_type=None, uploads=[upload]
        )

    assert local_uploads() == [], "the photos are only in the object store"
    with tempfile.TemporaryFile() as received:
        tracemalloc.start()
        try:
            for chunk in staff_api.get("/api/admin/export").streaming_content:
                received.write(chunk)  # to disk, as a client would: only the export's memory counts
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        received.seek(0)
        archive = zipfile.ZipFile(received)
        for i, record in enumerate(records):
            assert archive.read(f"images/1_SO-BIG-{i}/{record.file_name}") == photo

    assert peak < 4 * 1024 * 1024, f"{peak} bytes held at once to export 12 MiB of photos"


@pytest.mark.django_db
def test_purge_deletes_old_objects_of_successful_uploads_only(object_store, make_records, settings):
    server, bucket = object_store
    settings.UPLOAD_LOCAL_RETENTION_DAYS = 30
    old_success, old_pending = make_records(2)
    UploadRecord.objects.filter(pk=old_success.pk).update(
        status=UploadStatus.SUCCESS, succeeded_at=timezone.now() - timedelta(days=31)
    )

    assert services.purge_local_copies() == 1

    with pytest.raises(ClientError):
        server.client().head_object(Bucket=bucket, Key=old_success.local_file_path)
    assert UploadRecord.objects.get(pk=old_success.pk).local_file_deleted_at is not None
    assert stored_object(object_store, old_pending.local_file_path) == jpeg_bytes()


@pytest.mark.django_db
def test_upload_while_the_object_store_is_down_is_refused_with_503_and_leaves_nothing(
    object_store, client, document, signed_link, settings
):
    server, bucket = object_store
    down = server.storages(bucket)
    down["uploads"]["OPTIONS"].update(
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        client_config=down["uploads"]["OPTIONS"]["client_config"].merge(
            Config(retries={"max_attempts": 1, "mode": "standard"})
        ),
    )
    settings.STORAGES = down
    before = set(local_uploads())

    response = client.post(
        "/api/upload",
        {**document, "sig": signed_link.signature, "files": [SimpleUploadedFile("a.png", png_bytes(), "image/png")]},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    assert response.status_code == 503
    assert response.json()["message"] == "照片暂时无法保存，请稍后重试"
    assert not UploadRecord.objects.exists()
    assert set(local_uploads()) - before == set()
