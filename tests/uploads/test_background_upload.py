"""The background upload against the sandbox over HTTP: the task function is called directly,
as a worker would call it."""

import hashlib
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from uploads import files, services, tasks
from uploads.models import UploadRecord, UploadSlot, UploadStatus


def reload(record):
    return UploadRecord.objects.get(pk=record.pk)


def make_due(record):
    """Time travel: the backoff of this row has elapsed."""
    UploadRecord.objects.filter(pk=record.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_pending_upload_reaches_yonyou_under_its_stored_name(sandbox, make_records):
    record = make_records(1)[0]

    assert tasks.upload_record(record.pk) == UploadStatus.SUCCESS

    record = reload(record)
    assert record.status == UploadStatus.SUCCESS
    assert record.uploading_at is not None and record.succeeded_at is not None
    assert record.attempts == 1 and record.retry_count == 0
    assert record.lease_token is None
    (cloud,) = sandbox.state()["files"]
    assert cloud["id"] == record.yonyou_file_id
    assert cloud["file_name"] == record.file_name
    assert cloud["business_id"] == record.business_id
    assert cloud["business_type"] == "yonbip-scm-scmsa"
    assert (
        cloud["sha256"]
        == record.sha256
        == hashlib.sha256(files.absolute_path(record.local_file_path).read_bytes()).hexdigest()
    )
    assert not UploadSlot.objects.filter(holder_token__isnull=False).exists(), "the slot is released"


@pytest.mark.django_db
def test_task_run_twice_uploads_once(sandbox, make_records):
    record = make_records(1)[0]
    tasks.upload_record(record.pk)
    assert tasks.upload_record(record.pk) == "skipped"
    assert len(sandbox.state()["files"]) == 1


@pytest.mark.django_db
def test_retryable_failure_is_retried_later_with_backoff_then_succeeds(sandbox, make_records, settings):
    settings.UPLOAD_RETRY_BASE_S = 30
    record = make_records(1)[0]
    sandbox.faults(fail_rate=1, fail_status=503)

    before = timezone.now()
    assert tasks.upload_record(record.pk) == UploadStatus.PENDING

    failed_once = reload(record)
    assert failed_once.retry_count == 1
    assert failed_once.error_code and failed_once.error_message
    # Backoff with jitter: between half and all of the base delay.
    assert before + timedelta(seconds=14) <= failed_once.next_attempt_at <= timezone.now() + timedelta(seconds=31)
    assert tasks.upload_record(record.pk) == "not_due", "a stale task does not jump the backoff"

    sandbox.faults(fail_rate=0)
    make_due(record)
    assert tasks.upload_record(record.pk) == UploadStatus.SUCCESS
    record = reload(record)
    assert record.status == UploadStatus.SUCCESS
    assert record.attempts == 2 and record.retry_count == 1
    assert len(sandbox.state()["files"]) == 1


@pytest.mark.django_db
def test_transient_failures_keep_retrying_until_the_horizon_then_fail_with_the_last_error_kept(
    sandbox, make_records, settings, caplog
):
    settings.UPLOAD_RETRY_HORIZON_S = 3600
    settings.UPLOAD_RETRY_BASE_S = 30
    settings.UPLOAD_RETRY_MAX_S = 7200
    record = make_records(1)[0]
    sandbox.faults(fail_rate=1, fail_status=502)

    before = timezone.now()
    outcomes = []
    for _ in range(9):  # far more than the seed's three attempts
        outcomes.append(tasks.upload_record(record.pk))
        make_due(record)

    assert outcomes == [UploadStatus.PENDING] * 9, "a transient failure is never final before the horizon"
    record = reload(record)
    assert (record.attempts, record.retry_count) == (9, 9)
    assert before + timedelta(seconds=3600) <= record.gives_up_at <= timezone.now() + timedelta(seconds=3600)
    # The 9th backoff (up to 30 s · 2^8) reaches past the horizon: the last attempt is at the horizon.
    UploadRecord.objects.filter(pk=record.pk).update(next_attempt_at=None)
    assert tasks.upload_record(record.pk) == UploadStatus.PENDING
    assert reload(record).next_attempt_at == record.gives_up_at

    # Time travel: the horizon has passed.
    UploadRecord.objects.filter(pk=record.pk).update(gives_up_at=timezone.now() - timedelta(seconds=1))
    make_due(record)
    with caplog.at_level("ERROR", logger="uploads"):
        assert tasks.upload_record(record.pk) == UploadStatus.FAILED

    record = reload(record)
    assert record.status == UploadStatus.FAILED
    assert record.failed_at is not None
    assert "502" in record.error_code or "502" in record.error_message
    assert [r.getMessage() for r in caplog.records].count("upload failed for good") == 1, "the alert hook, once"
    assert tasks.upload_record(record.pk) == "skipped"
    assert sandbox.state()["files"] == []


@pytest.mark.django_db
def test_staff_retry_of_an_upload_given_up_on_starts_a_fresh_horizon(sandbox, make_records, settings):
    settings.UPLOAD_RETRY_HORIZON_S = 0  # give up at the first transient failure
    record = make_records(1)[0]
    sandbox.faults(fail_rate=1, fail_status=503)
    assert tasks.upload_record(record.pk) == UploadStatus.FAILED

    settings.UPLOAD_RETRY_HORIZON_S = 3600
    assert services.retry_failed([record.pk]) == 1
    assert reload(record).gives_up_at is None
    assert tasks.upload_record(record.pk) == UploadStatus.PENDING, "retried within the new horizon"


@pytest.mark.django_db
def test_permanent_error_fails_at_once_without_retry(sandbox, make_records, settings):
    settings.YONYOU_APP_SECRET = "not-the-secret"
    record = make_records(1)[0]

    assert tasks.upload_record(record.pk) == UploadStatus.FAILED

    record = reload(record)
    assert record.status == UploadStatus.FAILED
    assert record.retry_count == 0 and record.attempts == 1
    assert record.error_code == "auth_rejected"


@pytest.mark.django_db
def test_expired_token_is_refreshed_once_then_upload_succeeds(sandbox, make_records):
    first, second = make_records(2)
    assert tasks.upload_record(first.pk) == UploadStatus.SUCCESS
    sandbox.faults(expire_tokens_now=True)

    assert tasks.upload_record(second.pk) == UploadStatus.SUCCESS

    assert reload(second).retry_count == 0
    state = sandbox.state()
    assert state["tokens_issued"] == 2
    assert len(state["files"]) == 2


@pytest.mark.django_db
def test_token_cache_outage_is_retried_later_not_failed(sandbox, make_records):
    from tests.conftest import free_port

    record = make_records(1)[0]
    dead_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }

    with override_settings(CACHES=dead_cache):
        assert tasks.upload_record(record.pk) == UploadStatus.PENDING

    record = reload(record)
    assert (record.retry_count, record.error_code) == (1, "token_refresh_failed")
    assert record.next_attempt_at is not None


@pytest.mark.django_db
def test_rate_limit_waits_at_least_retry_after(sandbox, make_records, settings):
    settings.UPLOAD_RETRY_BASE_S = 1
    record = make_records(1)[0]
    sandbox.faults(fail_rate=1, fail_status=429, retry_after_s=120)

    before = timezone.now()
    assert tasks.upload_record(record.pk) == UploadStatus.PENDING

    record = reload(record)
    assert record.next_attempt_at >= before + timedelta(seconds=120)
    assert record.retry_count == 1


@pytest.mark.django_db
def test_worker_killed_mid_upload_is_recovered_by_the_sweep(sandbox, make_records, django_capture_on_commit_callbacks):
    record = make_records(1)[0]
    # What a worker killed with -9 leaves behind: uploading, lease expired, slot still held.
    assert services.claim_slot(record.pk)
    assert services.start_attempt(record.pk)
    long_ago = timezone.now() - timedelta(hours=1)
    UploadRecord.objects.filter(pk=record.pk).update(lease_expires_at=long_ago)
    UploadSlot.objects.update(lease_expires_at=long_ago)
    for _ in range(2):  # every slot held by dead workers
        UploadSlot.objects.filter(holder_token__isnull=True).update(holder_token="dead", lease_expires_at=long_ago)

    summary = services.requeue_stalled_uploads()

    assert summary["recovered_uploading"] == 1
    assert summary["dispatched"] == 1
    recovered = reload(record)
    assert recovered.status == UploadStatus.PENDING
    assert recovered.error_code == "lease_expired"
    assert tasks.upload_record(record.pk) == UploadStatus.SUCCESS, "expired slots are free again"
    assert len(sandbox.state()["files"]) == 1


@pytest.mark.django_db
def test_recovered_upload_that_had_reached_the_cloud_is_not_uploaded_again(sandbox, make_records):
    from yonyou.client import get_client

    record = make_records(1)[0]
    assert services.start_attempt(record.pk)
    # The dead worker's upload did reach Yonyou before the worker died.
    with open(files.absolute_path(record.local_file_path), "rb") as fileobj:
        sent = get_client().upload_attachment(
            business_type="yonbip-scm-scmsa",
            business_id=record.business_id,
            file_name=record.file_name,
            fileobj=fileobj,
        )
    UploadRecord.objects.filter(pk=record.pk).update(lease_expires_at=timezone.now() - timedelta(minutes=1))

    services.requeue_stalled_uploads()
    assert tasks.upload_record(record.pk) == UploadStatus.SUCCESS

    record = reload(record)
    assert record.yonyou_file_id == sent.file_id
    assert len(sandbox.state()["files"]) == 1, "no duplicate copy in the cloud"


@pytest.mark.django_db
def test_retry_uploads_even_when_the_attachment_list_api_is_not_authorised(sandbox, make_records, settings):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from yonyou.client import ATTACHMENTS_PATH

    record = make_records(1)[0]
    sandbox.faults(fail_rate=1, fail_status=503)
    assert tasks.upload_record(record.pk) == UploadStatus.PENDING
    make_due(record)

    class TenantWithoutListApi(BaseHTTPRequestHandler):
        """A gateway where the app may upload but was not granted the attachment list API."""

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.split("?")[0].endswith(ATTACHMENTS_PATH):
                answer = {"code": "310037", "message": "API未授权"}
            else:
                answer = {"code": "200", "data": {"data": [{"id": "f1", "fileName": "x.jpg", "fileSize": 1}]}}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    gateway = ThreadingHTTPServer(("127.0.0.1", 0), TenantWithoutListApi)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    settings.YONYOU_GATEWAY_URL = f"http://127.0.0.1:{gateway.server_address[1]}/iuap-api-gateway"
    try:
        outcome = tasks.upload_record(record.pk)
    finally:
        gateway.shutdown()
        gateway.server_close()

    assert outcome == UploadStatus.SUCCESS
    assert reload(record).yonyou_file_id == "f1"


@pytest.mark.django_db
def test_pending_row_whose_task_vanished_is_enqueued_again(make_records, settings):
    record = make_records(1)[0]
    UploadRecord.objects.filter(pk=record.pk).update(enqueued_at=timezone.now() - timedelta(hours=1))

    summary = services.requeue_stalled_uploads()

    assert summary["requeued_pending"] == 1 and summary["dispatched"] == 1
    assert reload(record).next_attempt_at is None, "taken by the dispatcher"
    assert services.requeue_stalled_uploads()["dispatched"] == 0, "a fresh enqueue is not repeated"


@pytest.mark.django_db
def test_task_that_finds_every_slot_busy_returns_at_once_and_waits_for_a_freed_slot(sandbox, make_records, settings):
    settings.YONYOU_MAX_CONCURRENCY = 2
    record = make_records(1)[0]
    held = [services.claim_slot(1000 + i) for i in range(2)]
    assert all(held) and services.claim_slot(999) is None

    assert tasks.upload_record(record.pk) == "waiting"
    assert reload(record).next_attempt_at is not None, "due, waiting for a slot"

    services.release_slot(held[0])
    assert services.dispatch_due_uploads() == 1
    assert tasks.upload_record(record.pk) == UploadStatus.SUCCESS


@pytest.mark.django_db
def test_soft_deleted_record_is_not_uploaded(sandbox, make_records):
    record = make_records(1)[0]
    services.soft_delete([record.pk])
    assert tasks.upload_record(record.pk) == "skipped"
    assert sandbox.state()["files"] == []


@pytest.mark.django_db
def test_missing_local_file_fails_with_a_clear_code(sandbox, make_records):
    record = make_records(1)[0]
    files.remove(record.local_file_path)
    assert tasks.upload_record(record.pk) == UploadStatus.FAILED
    assert reload(record).error_code == "local_file_missing"


@pytest.mark.django_db
def test_retention_deletes_only_old_local_copies_of_successful_uploads(make_records, settings):
    settings.UPLOAD_LOCAL_RETENTION_DAYS = 30
    old_success, recent_success, old_failed, old_pending = make_records(4)
    long_ago = timezone.now() - timedelta(days=31)
    UploadRecord.objects.filter(pk=old_success.pk).update(status=UploadStatus.SUCCESS, succeeded_at=long_ago)
    UploadRecord.objects.filter(pk=recent_success.pk).update(status=UploadStatus.SUCCESS, succeeded_at=timezone.now())
    UploadRecord.objects.filter(pk=old_failed.pk).update(
        status=UploadStatus.FAILED, failed_at=long_ago, upload_time=long_ago
    )
    UploadRecord.objects.filter(pk=old_pending.pk).update(upload_time=long_ago)

    assert services.purge_local_copies() == 1

    assert not files.absolute_path(old_success.local_file_path).exists()
    assert reload(old_success).local_file_deleted_at is not None
    for kept in (recent_success, old_failed, old_pending):
        assert files.absolute_path(kept.local_file_path).exists()


@pytest.mark.django_db
def test_retention_zero_keeps_everything(make_records, settings):
    settings.UPLOAD_LOCAL_RETENTION_DAYS = 0
    record = make_records(1)[0]
    UploadRecord.objects.filter(pk=record.pk).update(
        status=UploadStatus.SUCCESS, succeeded_at=timezone.now() - timedelta(days=999)
    )
    assert services.purge_local_copies() == 0
    assert files.absolute_path(record.local_file_path).exists()


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after(settings):
    settings.UPLOAD_RETRY_BASE_S = 10
    settings.UPLOAD_RETRY_MAX_S = 60
    for retry, ceiling in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)]:
        delays = {services.retry_delay_s(retry) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1, "jittered"
    assert services.retry_delay_s(1, retry_after=300) == 300


@pytest.mark.django_db
def test_jobs_are_registered_with_the_scheduler_and_return_a_summary():
    from alerts import registry
    from uploads import jobs

    ids = {spec.id for spec in registry.all_jobs()}
    assert {"recover_stalled_uploads", "purge_uploaded_local_copies"} <= ids
    assert jobs.recover_stalled_uploads() == {
        "recovered_uploading": 0,
        "requeued_pending": 0,
        "dispatched": 0,
        "staging_removed": 0,
    }
    assert jobs.purge_uploaded_local_copies() == {"purged": 0, "expired_keys": 0}


@pytest.mark.django_db
def test_retry_whose_attachment_check_gets_an_unknown_answer_shape_is_retried_not_failed(
    sandbox, make_records, settings
):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    record = make_records(1)[0]
    sandbox.faults(fail_rate=1, fail_status=503)
    assert tasks.upload_record(record.pk) == UploadStatus.PENDING
    make_due(record)

    class GatewayWithAnOddList(BaseHTTPRequestHandler):
        """The attachment list answers `{"data": {...}}` instead of a list."""

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"code": "200", "data": {"data": {"id": "f1", "fileName": "x.jpg"}}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    gateway = ThreadingHTTPServer(("127.0.0.1", 0), GatewayWithAnOddList)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    settings.YONYOU_GATEWAY_URL = f"http://127.0.0.1:{gateway.server_address[1]}/iuap-api-gateway"
    try:
        outcome = tasks.upload_record(record.pk)
    finally:
        gateway.shutdown()
        gateway.server_close()

    assert outcome == UploadStatus.PENDING, "a misread answer is transient, not a verdict on the file"
    assert reload(record).error_code == "bad_response"


class HeldBroker:
    """A broker that keeps what is enqueued, to see which tasks a task hands on."""

    def __init__(self):
        self.tasks = []

    def enqueue(self, task):
        self.tasks.append(task)


@pytest.mark.django_db
def test_fan_out_of_a_ten_file_request_uploads_the_first_file_on_its_own_pickup(sandbox, make_records, monkeypatch):
    import django_q.tasks

    broker = HeldBroker()
    monkeypatch.setattr(django_q.tasks, "get_broker", lambda *args, **kwargs: broker)
    records = make_records(10)

    tasks.enqueue_uploads([r.pk for r in records])

    first, *others = records
    assert reload(first).status == UploadStatus.SUCCESS, "no second trip through the broker for the first file"
    assert len(sandbox.state()["files"]) == 1
    assert len(broker.tasks) == 9, "one task for each other file"
    assert {reload(r).status for r in others} == {UploadStatus.PENDING}
