"""Every answer of the uploads API is the body the OpenAPI schema documents for it, field by field,
in the states schemathesis seldom reaches: photos accepted, a replayed Idempotency-Key, records
that failed or reached the ERP."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.api_contract.documented import assert_documented
from tests.uploads.conftest import jpeg_bytes
from uploads.models import UploadRecord, UploadStatus

UPLOAD = "POST /api/upload"
HISTORY = "GET /api/history/{business_id}"

pytestmark = pytest.mark.django_db


def photos(count: int = 1) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"photo{i}.jpg", jpeg_bytes(), "image/jpeg") for i in range(count)]


@pytest.fixture
def settled_records(make_records):
    """Three records of the document: one pending, one that reached the ERP, one that gave up."""
    pending, succeeded, failed = make_records(3)
    now = timezone.now()
    UploadRecord.objects.filter(pk=succeeded.pk).update(status=UploadStatus.SUCCESS, yonyou_file_id="YF-1")
    UploadRecord.objects.filter(pk=failed.pk).update(
        status=UploadStatus.FAILED, error_code="invalid_document", error_message="单据不存在", gives_up_at=now
    )
    return pending, succeeded, failed


def test_an_accepted_upload_and_its_replay_are_the_documented_body(client, field_user, document):
    client.force_login(field_user)
    form = {**document, "product_type": "油脂"}

    accepted = assert_documented(
        client.post("/api/upload", {**form, "files": photos(2)}, HTTP_IDEMPOTENCY_KEY="key-1"), UPLOAD
    )
    replayed = assert_documented(
        client.post("/api/upload", {**form, "files": photos(2)}, HTTP_IDEMPOTENCY_KEY="key-1"), UPLOAD
    )

    assert accepted["total"] == 2 and "replayed" not in accepted
    assert replayed["replayed"] is True and replayed["records"] == accepted["records"]


def test_every_refusal_of_an_upload_is_the_documented_error_body(client, field_user, outsider, document, settings):
    client.force_login(field_user)
    client.post("/api/upload", {**document, "files": photos()}, HTTP_IDEMPOTENCY_KEY="key-1")
    other_document = {**document, "business_id": "42", "doc_number": "SO-42"}

    refusals = {
        "no photo": client.post("/api/upload", document),
        "a key reused for another document": client.post(
            "/api/upload", {**other_document, "files": photos()}, HTTP_IDEMPOTENCY_KEY="key-1"
        ),
    }
    client.force_login(outsider)
    refusals["a signed-in account that may not upload"] = client.post("/api/upload", {**document, "files": photos()})
    client.logout()
    refusals["a forged link"] = client.post("/api/upload?sig=forged", {**document, "files": photos()})
    settings.MAX_FILE_SIZE, settings.MAX_FILES_PER_UPLOAD = 1024, 1
    huge = SimpleUploadedFile("huge.jpg", jpeg_bytes(2 * 1024 * 1024), "image/jpeg")
    refusals["a body too large"] = client.post("/api/upload", {**document, "files": [huge]})

    statuses = {case: response.status_code for case, response in refusals.items()}
    assert statuses == {
        "no photo": 400,
        "a key reused for another document": 422,
        "a signed-in account that may not upload": 403,
        "a forged link": 403,
        "a body too large": 413,
    }
    for response in refusals.values():
        assert assert_documented(response, UPLOAD)["status"] == "error"
    assert UploadRecord.objects.count() == 1


def test_the_history_of_a_document_and_its_refusal_are_documented(client, signed_link, document, settled_records):
    history = client.get(f"/api/history/{document['business_id']}", {"sig": signed_link.signature})
    refused = client.get(f"/api/history/{document['business_id']}")

    assert {r["status"] for r in assert_documented(history, HISTORY)["records"]} == {"pending", "success", "failed"}
    assert (refused.status_code, assert_documented(refused, HISTORY)["code"]) == (403, "permission_denied")


def test_the_staff_answers_are_documented(staff_api, settled_records, document):
    _pending, _succeeded, failed = settled_records

    records = assert_documented(staff_api.get("/api/admin/records"), "GET /api/admin/records")
    statistics = assert_documented(staff_api.get("/api/admin/statistics"), "GET /api/admin/statistics")
    retried = assert_documented(
        staff_api.post("/api/admin/records/retry", {"ids": [failed.pk]}, format="json"),
        "POST /api/admin/records/retry",
    )
    link = assert_documented(staff_api.post("/api/upload-links", document, format="json"), "POST /api/upload-links")

    assert (records["total"], statistics["failed_count"], retried["retried"]) == (3, 1, 1)
    assert link["url"].startswith("http") and link["qr_svg"].startswith("<")
