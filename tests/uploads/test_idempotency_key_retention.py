"""Idempotency-Keys are kept UPLOAD_IDEMPOTENCY_KEY_TTL_H hours, then the daily retention job
deletes them: the table stops growing with every upload, the records they stored stay whole, and
the same key sent again afterwards is a new upload. Time is passed in, never read from the clock."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.uploads.test_idempotency_key import photo, post
from uploads import jobs, services
from uploads.models import ClientRequest, UploadRecord

STORED_AT = timezone.make_aware(datetime(2026, 3, 10, 9, 0))


@pytest.fixture(autouse=True)
def _ttl_of_a_day(settings):
    settings.UPLOAD_IDEMPOTENCY_KEY_TTL_H = 24


def upload_with_key(client, document, signed_link, *, key, stored_at=STORED_AT) -> dict:
    """POST an upload with `key` and date its key `stored_at`, as if it had been sent then."""
    response = post(client, document, key=key, sig=signed_link.signature, files=[photo("a.jpg"), photo("b.jpg")])
    assert response.status_code == 200, response.content
    ClientRequest.objects.filter(key=key).update(created_at=stored_at)
    return response.json()


def fields_of(records) -> list[dict]:
    return list(records.order_by("pk").values())


@pytest.mark.django_db
def test_an_expired_key_is_deleted_and_its_records_stay_with_all_their_data(client, document, signed_link):
    body = upload_with_key(client, document, signed_link, key="old-key")
    ids = [r["id"] for r in body["records"]]
    before = fields_of(UploadRecord.objects.filter(pk__in=ids))
    assert all(row["client_request_id"] is not None for row in before)

    expired = services.expire_idempotency_keys(now=STORED_AT + timedelta(hours=24, seconds=1))

    assert expired == 1
    assert not ClientRequest.objects.exists()
    after = fields_of(UploadRecord.objects.filter(pk__in=ids))
    assert len(after) == 2
    assert [{**row, "client_request_id": None} for row in before] == after, "only the link to the key is gone"


@pytest.mark.django_db
def test_a_key_younger_than_its_ttl_is_kept_with_its_records(client, document, signed_link):
    old = upload_with_key(client, document, signed_link, key="old-key", stored_at=STORED_AT - timedelta(hours=25))
    fresh = upload_with_key(client, document, signed_link, key="fresh-key", stored_at=STORED_AT - timedelta(hours=23))

    assert services.expire_idempotency_keys(now=STORED_AT) == 1

    assert list(ClientRequest.objects.values_list("key", flat=True)) == ["fresh-key"]
    fresh_ids = {r["id"] for r in fresh["records"]}
    assert set(ClientRequest.objects.get().records.values_list("pk", flat=True)) == fresh_ids
    assert UploadRecord.objects.count() == len(old["records"]) + len(fresh["records"])


@pytest.mark.django_db
def test_the_same_key_after_expiry_is_a_new_upload(client, document, signed_link):
    first = upload_with_key(client, document, signed_link, key="old-key")
    services.expire_idempotency_keys(now=STORED_AT + timedelta(hours=25))

    again = post(client, document, key="old-key", sig=signed_link.signature, files=[photo("a.jpg"), photo("b.jpg")])

    assert again.status_code == 200, again.content
    assert "replayed" not in again.json()
    first_ids = {r["id"] for r in first["records"]}
    new_ids = {r["id"] for r in again.json()["records"]}
    assert len(new_ids) == 2 and not first_ids & new_ids
    assert UploadRecord.objects.count() == 4
    assert set(ClientRequest.objects.get(key="old-key").records.values_list("pk", flat=True)) == new_ids


@pytest.mark.django_db
def test_the_same_key_before_expiry_still_replays_the_first_records(client, document, signed_link):
    first = upload_with_key(client, document, signed_link, key="kept-key")
    assert services.expire_idempotency_keys(now=STORED_AT + timedelta(hours=23, minutes=59)) == 0

    again = post(client, document, key="kept-key", sig=signed_link.signature, files=[photo("a.jpg"), photo("b.jpg")])

    assert again.status_code == 200, again.content
    assert again.json()["replayed"] is True
    assert again.json()["records"] == first["records"]
    assert UploadRecord.objects.count() == 2


@pytest.mark.django_db
def test_a_ttl_of_zero_keeps_keys_forever(client, document, signed_link, settings):
    settings.UPLOAD_IDEMPOTENCY_KEY_TTL_H = 0
    upload_with_key(client, document, signed_link, key="old-key")

    assert services.expire_idempotency_keys(now=STORED_AT + timedelta(days=3650)) == 0
    assert ClientRequest.objects.count() == 1


@pytest.mark.django_db
def test_the_daily_retention_job_expires_keys(client, document, signed_link):
    # Stored long before any clock this test could run at: the job reads the clock itself.
    upload_with_key(client, document, signed_link, key="old-key", stored_at=STORED_AT - timedelta(days=3650))

    summary = jobs.purge_uploaded_local_copies()

    assert summary["expired_keys"] == 1
    assert not ClientRequest.objects.exists()
    assert UploadRecord.objects.count() == 2
