"""An upload that takes longer than its lease keeps its lease (and its slot) while it is sent, and
every upload call is over by its deadline, whatever the remote does. Short leases and sandbox
faults make the slow cases happen on purpose; nothing here waits on the clock to decide."""

import threading

import pytest
from django.db import connection

from tests.conftest import wait_until
from uploads import services, tasks
from uploads.models import UploadRecord, UploadSlot, UploadStatus


def reload(record):
    return UploadRecord.objects.get(pk=record.pk)


class HeldBroker:
    """A broker that keeps what is enqueued: this test is the only worker, even when the session's
    qcluster (started by an earlier test) is running on the same database."""

    def __init__(self):
        self.tasks = []

    def enqueue(self, task):
        self.tasks.append(task)


@pytest.mark.django_db(transaction=True)
def test_upload_slower_than_its_lease_is_not_recovered_or_uploaded_twice(sandbox, make_records, settings, monkeypatch):
    import django_q.tasks

    monkeypatch.setattr(django_q.tasks, "get_broker", lambda *args, **kwargs: HeldBroker())
    settings.UPLOAD_LEASE_S = 6  # renewed every 2 s: 4 s of slack for a busy machine
    settings.UPLOAD_ATTEMPT_DEADLINE_S = 60  # longer than the call: only the renewal protects it
    settings.YONYOU_MAX_CONCURRENCY = 1
    record = make_records(1)[0]
    sandbox.faults(latency_ms=[13000, 13000])  # the ERP takes over two leases to answer
    outcome = {}

    def worker() -> None:
        try:
            outcome["first"] = tasks.upload_record(record.pk)
        finally:
            connection.close()

    first = threading.Thread(target=worker)
    first.start()
    try:
        wait_until(lambda: reload(record).status == UploadStatus.UPLOADING, message="the upload to start")

        def first_attempt_over() -> bool:
            # What the rest of the deployment does meanwhile: the sweep runs, a redelivered task runs.
            services.requeue_stalled_uploads()
            tasks.upload_record(record.pk)
            return not first.is_alive()

        wait_until(first_attempt_over, timeout_s=90, interval_s=0.2, message="the slow upload to finish")
    finally:
        first.join()

    record = reload(record)
    assert outcome["first"] == UploadStatus.SUCCESS
    assert record.status == UploadStatus.SUCCESS and record.attempts == 1
    assert record.error_code is None, "never recovered as lease_expired"
    state = sandbox.state()
    assert len(state["files"]) == 1, "uploaded once"
    assert state["max_concurrent_uploads"] == 1, "the cap of one held"
    assert not UploadSlot.objects.filter(holder_token__isnull=False).exists()


@pytest.mark.django_db
def test_upload_call_is_over_by_its_deadline_when_the_erp_is_slow_to_answer(sandbox, make_records, settings):
    settings.YONYOU_TIMEOUT_S = 30  # an inactivity timeout the slow answer never trips
    settings.UPLOAD_ATTEMPT_DEADLINE_S = 1
    record = make_records(1)[0]
    sandbox.faults(latency_ms=[4000, 4000])

    assert tasks.upload_record(record.pk) == UploadStatus.PENDING

    record = reload(record)
    assert record.error_code == "timeout"
    assert record.retry_count == 1 and record.next_attempt_at is not None


@pytest.mark.django_db
def test_upload_call_is_over_by_its_deadline_when_the_erp_reads_the_file_slowly(
    sandbox, make_records, settings, document
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.uploads.conftest import jpeg_bytes

    settings.YONYOU_TIMEOUT_S = 30
    settings.UPLOAD_ATTEMPT_DEADLINE_S = 1
    big = SimpleUploadedFile("big.jpg", jpeg_bytes(8 * 1024 * 1024), "image/jpeg")
    (record,) = services.accept_upload(uploads=[big], product_type=None, **document)
    sandbox.faults(slow_read_ms=100)  # 64 KiB per 100 ms: the 8 MiB body would take 13 s

    assert tasks.upload_record(record.pk) == UploadStatus.PENDING

    assert reload(record).error_code == "timeout"
    wait_until(lambda: sandbox.state()["requests"].get("truncated_bodies") == 1, message="the sandbox to see the cut")
    assert sandbox.state()["files"] == [], "the cut body is not stored"


def test_a_deadline_that_could_outlive_the_lease_is_refused_at_start(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    env = {**os.environ, "DATA_DIR": str(tmp_path), "UPLOAD_LEASE_S": "60", "UPLOAD_ATTEMPT_DEADLINE_S": "45"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "UPLOAD_ATTEMPT_DEADLINE_S" in result.stderr


@pytest.mark.django_db
def test_a_timed_out_call_keeps_its_slot_while_yonyou_may_still_be_working_on_it(sandbox, make_records, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.YONYOU_MAX_CONCURRENCY = 1
    settings.YONYOU_TIMEOUT_S = 0.5
    settings.UPLOAD_ABANDONED_CALL_S = 60
    first, second = make_records(2)
    sandbox.faults(hang_rate=1, hang_s=3)  # Yonyou answers long after we stopped waiting

    assert tasks.upload_record(first.pk) == UploadStatus.PENDING
    assert reload(first).error_code == "timeout"

    assert tasks.upload_record(second.pk) == "waiting", "Yonyou is still busy with the abandoned call"
    assert sandbox.state()["max_concurrent_uploads"] == 1

    # Time travel on the slot: the hold is over, the slot is free again.
    UploadSlot.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    sandbox.faults(hang_rate=0)
    UploadRecord.objects.filter(pk=second.pk).update(next_attempt_at=None)
    assert tasks.upload_record(second.pk) == UploadStatus.SUCCESS
