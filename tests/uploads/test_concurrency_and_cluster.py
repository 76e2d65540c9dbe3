"""The deployment-wide concurrency cap, and a real upload through a running qcluster."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from tests.conftest import wait_until
from tests.uploads.conftest import jpeg_bytes
from uploads import tasks
from uploads.models import UploadRecord, UploadStatus


@pytest.mark.django_db(transaction=True)
def test_concurrency_cap_holds_under_20_parallel_tasks(sandbox, make_records, settings):
    settings.YONYOU_MAX_CONCURRENCY = 3
    sandbox.faults(latency_ms=[150, 250])
    records = make_records(10) + make_records(10)
    errors = []
    start = threading.Barrier(len(records))

    def worker(record_id: int) -> None:
        # A worker of its own: runs the task whenever the row is due, like a redelivery would.
        try:
            start.wait()

            def finished() -> bool:
                tasks.upload_record(record_id)
                return UploadRecord.objects.get(pk=record_id).status in (UploadStatus.SUCCESS, UploadStatus.FAILED)

            wait_until(finished, timeout_s=90, interval_s=0.05, message=f"upload {record_id}")
        except Exception as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(r.pk,)) for r in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert set(UploadRecord.objects.values_list("status", flat=True)) == {UploadStatus.SUCCESS}
    state = sandbox.state()
    assert len(state["files"]) == 20
    assert state["max_concurrent_uploads"] <= 3
    assert state["max_concurrent_uploads"] >= 2, "the test did run uploads in parallel"


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_upload_over_http_reaches_yonyou_through_the_cluster(qcluster, sandbox, client, document, signed_link):
    # A signed link, not a group member: transactional tests flush the groups of migrations.
    uploads = [SimpleUploadedFile(f"p{i}.jpg", jpeg_bytes(), "image/jpeg") for i in range(3)]

    response = client.post("/api/upload", {**document, "sig": signed_link.signature, "files": uploads})

    assert response.status_code == 200
    ids = [r["id"] for r in response.json()["records"]]
    wait_until(
        lambda: UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.SUCCESS).count() == 3,
        timeout_s=60,
        message="the cluster to upload all three files",
    )
    names = {f["file_name"] for f in sandbox.state()["files"]}
    assert names == set(UploadRecord.objects.values_list("file_name", flat=True))
