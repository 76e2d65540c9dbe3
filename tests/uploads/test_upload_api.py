"""POST /api/upload: who may upload, what is validated before anything is stored, what is stored."""

import contextlib
import hashlib
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.conftest import UnreadBroker
from tests.uploads.conftest import jpeg_bytes, png_bytes
from uploads import files, links
from uploads.models import UploadRecord, UploadStatus


def post_upload(client, document, uploads, *, sig=None, **extra):
    data = {**document, "files": uploads, **extra}
    if sig:
        data["sig"] = sig
    return client.post("/api/upload", data)


def photo(name="photo.jpg", content=None, content_type="image/jpeg"):
    return SimpleUploadedFile(name, jpeg_bytes() if content is None else content, content_type)


@pytest.mark.django_db
def test_signed_link_upload_stores_every_file_and_answers_pending(
    client, document, signed_link, django_capture_on_commit_callbacks
):
    contents = [jpeg_bytes(4096), png_bytes(), jpeg_bytes(1024)]
    uploads = [photo("a.jpg", contents[0]), photo("b.png", contents[1], "image/png"), photo("c.JPG", contents[2])]

    with django_capture_on_commit_callbacks() as callbacks:
        response = post_upload(client, document, uploads, sig=signed_link.signature, product_type="油脂")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert body["total"] == 3
    assert "正在后台上传中" in body["message"]
    assert [r["original_name"] for r in body["records"]] == ["a.jpg", "b.png", "c.JPG"]
    assert {r["status"] for r in body["records"]} == {"pending"}
    assert len(callbacks) == 1, "the background upload is enqueued once the rows are committed"
    for answer, content in zip(body["records"], contents, strict=True):
        record = UploadRecord.objects.get(pk=answer["id"])
        assert record.file_name == answer["file_name"]
        assert record.file_name.startswith("SO20251021-0001_")
        assert record.file_size == answer["file_size"] == len(content)
        assert record.sha256 == hashlib.sha256(content).hexdigest()
        assert record.product_type == "油脂"
        assert record.status == UploadStatus.PENDING
        assert files.absolute_path(record.local_file_path).read_bytes() == content
    assert UploadRecord.objects.get(pk=body["records"][2]["id"]).file_extension == ".jpg"


@pytest.mark.django_db
def test_field_member_uploads_for_any_document_without_a_link(client, field_user, document):
    client.force_login(field_user)
    response = post_upload(client, {**document, "business_id": "42"}, [photo()])
    assert response.status_code == 200
    assert UploadRecord.objects.get().uploaded_by == field_user


@pytest.mark.django_db
def test_token_authenticated_integrator_may_upload(field_user, document):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=field_user).key}")
    response = api.post("/api/upload", {**document, "files": [photo()]}, format="multipart")
    assert response.status_code == 200


def _expired_link(document):
    link = links.create_link(**document, max_age_s=60)
    from django.core import signing

    payload = signing.loads(link.signature, salt=links.SALT)
    payload["e"] = 1000  # long ago
    return signing.dumps(payload, salt=links.SALT)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_sig",
    [
        pytest.param(lambda d: None, id="missing"),
        pytest.param(lambda d: "eyJiIjoiMSJ9:forged:signature", id="forged"),
        pytest.param(_expired_link, id="expired"),
        pytest.param(lambda d: links.create_link(**{**d, "business_id": "999"}).signature, id="other-document"),
        pytest.param(lambda d: links.create_link(**{**d, "doc_type": "转库"}).signature, id="other-doc-type"),
    ],
)
def test_upload_without_a_valid_link_for_this_document_is_403_in_chinese(client, document, make_sig):
    response = post_upload(client, document, [photo()], sig=make_sig(document))
    assert response.status_code == 403
    body = response.json()
    assert body["status"] == "error"
    assert "二维码" in body["message"]
    assert not UploadRecord.objects.exists()


@pytest.mark.django_db
def test_signed_in_user_outside_the_field_group_needs_a_link(client, outsider, document):
    client.force_login(outsider)
    assert post_upload(client, document, [photo()]).status_code == 403
    assert not UploadRecord.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "uploads", "needle"),
    [
        pytest.param(
            {}, lambda: [photo("notes.jpg", b"just some text, not a photo")], "notes.jpg", id="text-named-jpg"
        ),
        pytest.param({}, lambda: [photo("empty.jpg", b"")], "empty.jpg", id="empty-file"),
        pytest.param({}, lambda: [photo("tool.exe", b"MZ\x90\x00")], "tool.exe", id="extension-not-allowed"),
        pytest.param({}, lambda: [photo("noext", jpeg_bytes())], "noext", id="no-extension"),
        pytest.param({}, lambda: [photo("fake.png", jpeg_bytes())], "fake.png", id="jpeg-named-png"),
        pytest.param({}, lambda: [photo("good.jpg"), photo("bad.gif", b"GIF0")], "bad.gif", id="one-bad-among-good"),
        pytest.param({}, lambda: [photo(f"p{i}.jpg") for i in range(11)], "10", id="eleven-files"),
        pytest.param({}, lambda: [], "文件", id="no-files"),
        pytest.param({"business_id": "12a"}, lambda: [photo()], "business_id", id="business-id-not-digits"),
        pytest.param({"business_id": "１２３"}, lambda: [photo()], "business_id", id="business-id-full-width-digits"),
        pytest.param({"doc_type": "采购"}, lambda: [photo()], "doc_type", id="unknown-doc-type"),
        pytest.param({"doc_number": "   "}, lambda: [photo()], "doc_number", id="blank-doc-number"),
    ],
)
def test_hostile_input_is_400_naming_the_problem_and_nothing_is_stored(
    client, field_user, document, fields, uploads, needle
):
    client.force_login(field_user)
    root = files.upload_dir()
    before = set(root.rglob("*")) if root.exists() else set()

    response = post_upload(client, {**document, **fields}, uploads())

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "error"
    assert needle in body["message"]
    assert not UploadRecord.objects.exists()
    assert (set(root.rglob("*")) if root.exists() else set()) == before


@pytest.mark.django_db
def test_file_over_the_size_limit_is_400_naming_it(client, field_user, document, settings):
    settings.MAX_FILE_SIZE = 4096
    client.force_login(field_user)
    response = post_upload(client, document, [photo("small.jpg", jpeg_bytes(1024)), photo("big.jpg", jpeg_bytes(8192))])
    assert response.status_code == 400
    problems = response.json()["errors"]["files"]
    assert [p["file_name"] for p in problems] == ["big.jpg"]
    assert "超过" in problems[0]["reason"]
    assert not UploadRecord.objects.exists()


@pytest.mark.django_db
def test_oversize_request_body_is_refused_with_413_before_it_is_read(client, field_user, document, settings):
    settings.MAX_FILE_SIZE = 1024
    settings.MAX_FILES_PER_UPLOAD = 2
    client.force_login(field_user)
    response = post_upload(client, document, [photo("huge.jpg", jpeg_bytes(3 * 1024 * 1024))])
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not UploadRecord.objects.exists()


@pytest.mark.django_db
def test_hostile_doc_number_and_file_name_never_reach_the_stored_path(client, field_user, document):
    client.force_login(field_user)
    hostile = {**document, "doc_number": "../../<script>alert(1)</script>"}
    response = post_upload(client, hostile, [photo("../../../etc/passwd.jpg")])
    assert response.status_code == 200
    record = UploadRecord.objects.get()
    assert "/" not in record.file_name and "<" not in record.file_name and ".." not in record.file_name
    assert files.absolute_path(record.local_file_path).parent == files.upload_dir()
    assert record.doc_number == "../../<script>alert(1)</script>"  # kept as data


@pytest.mark.django_db
def test_request_bodies_are_staged_then_linked_and_the_staging_area_is_left_empty(client, field_user, document):
    client.force_login(field_user)
    big = jpeg_bytes(600 * 1024)  # above FILE_UPLOAD_MAX_MEMORY_SIZE: received straight to disk
    assert post_upload(client, document, [photo("big.jpg", big), photo("bad.jpg", b"text")]).status_code == 400
    response = post_upload(client, document, [photo("big.jpg", big)])
    assert response.status_code == 200

    record = UploadRecord.objects.get()
    assert record.sha256 == hashlib.sha256(big).hexdigest()
    assert files.absolute_path(record.local_file_path).read_bytes() == big
    assert list(files.staging_dir().iterdir()) == []


def test_stale_staging_files_of_dead_requests_are_removed(settings, tmp_path):
    import os
    import time

    settings.MEDIA_ROOT = tmp_path
    files.staging_dir().mkdir(parents=True)
    stale, fresh = files.staging_dir() / "a.part", files.staging_dir() / "b.part"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (time.time() - 2 * 86400, time.time() - 2 * 86400))

    assert files.remove_stale_staging() == 1
    assert not stale.exists() and fresh.exists()


@pytest.mark.django_db
def test_refusal_is_in_english_when_asked(client, document):
    response = client.post("/api/upload", {**document, "files": [photo()]}, headers={"accept-language": "en"})
    assert response.status_code == 403
    assert "QR code" in response.json()["message"]


@pytest.mark.django_db
def test_more_files_than_django_accepts_is_a_400_not_a_500(client, field_user, document):
    client.force_login(field_user)
    response = post_upload(client, document, [photo(f"p{i}.jpg", jpeg_bytes(256)) for i in range(101)])
    assert response.status_code == 400
    assert not UploadRecord.objects.exists()


@pytest.mark.django_db
def test_oversize_file_is_not_kept_in_full_while_it_is_received(client, field_user, document, settings):
    settings.MAX_FILE_SIZE = 512 * 1024
    client.force_login(field_user)
    response = post_upload(client, document, [photo("big.jpg", jpeg_bytes(900 * 1024))])
    assert response.status_code == 400
    assert response.json()["errors"]["files"][0]["file_name"] == "big.jpg"
    assert list(files.staging_dir().iterdir()) == []


@pytest.mark.django_db
def test_upload_as_the_month_turns_is_kept_in_the_directory_it_was_stored_in(make_records):
    import datetime
    from unittest import mock

    from django.conf import settings

    # The clock turns to November (Asia/Shanghai) right after the file is written to October's
    # directory: the request must still succeed and make that directory's entry durable.
    october = datetime.datetime(2030, 10, 31, 15, 59, 59, tzinfo=datetime.UTC)
    november = october + datetime.timedelta(seconds=2)
    october_dir = settings.MEDIA_ROOT / "uploads" / "2030" / "10"

    def clock():
        return november if october_dir.exists() and any(october_dir.iterdir()) else october

    with mock.patch("django.utils.timezone.now", clock):
        (record,) = make_records(1)

    assert files.absolute_path(record.local_file_path).parent == october_dir
    assert files.absolute_path(record.local_file_path).read_bytes() == jpeg_bytes()


@pytest.mark.django_db
def test_receiving_an_oversize_file_stops_writing_it_past_the_limit_but_reports_its_size(settings):
    settings.MAX_FILE_SIZE = 512 * 1024
    handler = files.StagingUploadHandler()
    handler.new_file("files", "big.jpg", "image/jpeg", None)
    chunk = jpeg_bytes(64 * 1024)
    for _ in range(15):  # 960 KiB in all, as a chunked body would bring it
        handler.receive_data_chunk(chunk, 0)
    received = handler.file_complete(15 * len(chunk))
    try:
        assert received.size == 15 * len(chunk), "the real size, so the refusal names it"
        assert os.path.getsize(received.temporary_file_path()) == settings.MAX_FILE_SIZE + 1
    finally:
        received.close()


class BrokerAbortedWhileEnqueueing:
    """A broker whose enqueue is cut short the way gunicorn aborts a worker stuck in a slow
    call (SystemExit): the rows are already committed when it happens."""

    def enqueue(self, task):
        raise SystemExit(1)


class BrokerDown:
    def enqueue(self, task):
        raise ConnectionError("broker unreachable")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", [BrokerAbortedWhileEnqueueing, BrokerDown])
@pytest.mark.parametrize("count", [1, 2])
def test_enqueue_failure_after_commit_keeps_the_committed_upload_and_its_file(make_records, monkeypatch, broker, count):
    import django_q.tasks

    from uploads import services

    monkeypatch.setattr(django_q.tasks, "get_broker", lambda *args, **kwargs: broker())

    # Under SystemExit the worker is going away; what matters is what it leaves behind.
    with contextlib.suppress(SystemExit):
        make_records(count)

    records = list(UploadRecord.objects.all())
    assert len(records) == count and {r.status for r in records} == {UploadStatus.PENDING}
    for record in records:
        assert files.absolute_path(record.local_file_path).exists(), "a committed upload keeps its file"
    # Left for the recovery sweep: once pending too long, it is dispatched again. Dispatched to a
    # broker that keeps it: the session's qcluster (an earlier test's) would run the upload behind
    # the test's back, and on PostgreSQL deadlock with the flush that ends the test.
    UploadRecord.objects.update(enqueued_at=timezone.now() - timedelta(hours=1))
    monkeypatch.setattr(django_q.tasks, "get_broker", lambda *args, **kwargs: UnreadBroker())
    assert services.requeue_stalled_uploads()["requeued_pending"] == count
