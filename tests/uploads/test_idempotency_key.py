"""POST /api/upload with an Idempotency-Key: a request sent again after its reply was lost is
answered with the first request's records and stores nothing new, even when the repeats race."""

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from tests.uploads.conftest import jpeg_bytes
from uploads import links
from uploads.models import ClientRequest, UploadRecord

KEY = "0b6f7c1e-5a43-4c55-9d4e-2f1f3f0a9b11"


def photo(name="photo.jpg"):
    return SimpleUploadedFile(name, jpeg_bytes(4096), "image/jpeg")


def post(client, document, *, key=KEY, sig=None, files=None, **extra):
    data = {**document, "files": files or [photo()], **extra}
    if sig:
        data["sig"] = sig
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/upload", data, headers=headers)


def stored_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / "uploads"
    return {p for p in root.rglob("*") if p.is_file() and ".incoming" not in p.parts} if root.exists() else set()


@pytest.mark.django_db
def test_repeat_with_the_same_key_answers_the_first_records_and_stores_nothing(
    client, document, signed_link, django_capture_on_commit_callbacks
):
    first = post(client, document, sig=signed_link.signature, files=[photo("a.jpg"), photo("b.jpg")])
    assert first.status_code == 200, first.content
    files_after_first = stored_files()

    with django_capture_on_commit_callbacks() as callbacks:
        again = post(client, document, sig=signed_link.signature, files=[photo("a.jpg"), photo("b.jpg")])

    assert again.status_code == 200, again.content
    assert again.json()["records"] == first.json()["records"]
    assert again.json()["replayed"] is True
    assert "replayed" not in first.json()
    assert UploadRecord.objects.count() == 2
    assert ClientRequest.objects.count() == 1
    assert stored_files() == files_after_first, "the repeat's own copies are removed"
    assert callbacks == [], "nothing is enqueued for a repeat"


@pytest.mark.django_db
def test_without_a_key_every_request_is_a_new_upload(client, document, signed_link):
    post(client, document, key=None, sig=signed_link.signature)
    post(client, document, key=None, sig=signed_link.signature)

    assert UploadRecord.objects.count() == 2
    assert ClientRequest.objects.count() == 0


@pytest.mark.django_db
def test_keys_are_unique_per_user_or_link_not_across_them(client, document, signed_link, field_user):
    by_link = post(client, document, sig=signed_link.signature)
    client.force_login(field_user)
    by_user = post(client, document)
    other_link = links.create_link(**document, max_age_s=3600)
    client.logout()
    by_other_link = post(client, document, sig=other_link.signature)

    ids = {r.json()["records"][0]["id"] for r in (by_link, by_user, by_other_link)}
    assert len(ids) == 3
    assert UploadRecord.objects.count() == 3


@pytest.mark.django_db
def test_a_key_reused_for_another_document_is_refused_and_stores_nothing(client, document, field_user):
    client.force_login(field_user)
    assert post(client, document).status_code == 200
    files_before = stored_files()

    other = {**document, "business_id": "1836660026080499999"}
    response = post(client, other)

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "idempotency_key_reused"
    assert "Idempotency-Key 已用于另一次上传" in response.json()["message"]
    assert UploadRecord.objects.count() == 1
    assert stored_files() == files_before


@pytest.mark.django_db
def test_a_key_reused_for_other_photos_is_refused_not_answered_with_the_first_ones(client, document, field_user):
    client.force_login(field_user)
    assert post(client, document, files=[photo("a.jpg")]).status_code == 200
    files_before = stored_files()
    other_photo = SimpleUploadedFile("a.jpg", jpeg_bytes(8192), "image/jpeg")

    response = post(client, document, files=[other_photo])

    assert response.status_code == 422, response.content
    assert response.json()["code"] == "idempotency_key_reused"
    assert "请刷新页面后重新上传" in response.json()["message"]
    assert UploadRecord.objects.count() == 1
    assert stored_files() == files_before


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["with space", "键", "x" * 101])
def test_a_malformed_key_is_a_400_in_chinese(client, document, field_user, key):
    client.force_login(field_user)
    response = post(client, document, key=key)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert "可打印的 ASCII" in response.json()["message"]
    assert UploadRecord.objects.count() == 0


@pytest.mark.django_db
def test_a_refused_request_does_not_use_up_its_key(client, document, field_user):
    client.force_login(field_user)
    refused = post(client, document, files=[SimpleUploadedFile("notes.txt", b"hello", "text/plain")])
    assert refused.status_code == 400

    accepted = post(client, document)

    assert accepted.status_code == 200
    assert "replayed" not in accepted.json()
    assert UploadRecord.objects.count() == 1


@pytest.mark.django_db
def test_the_plain_form_carries_a_key_so_a_resubmitted_post_stores_once(client, document, signed_link):
    page = client.get(signed_link.path())
    assert page.status_code == 200
    key = page.context["idempotency_key"]
    assert f'name="idempotency_key" value="{key}"' in page.content.decode()
    url = page.wsgi_request.get_full_path()

    for _attempt in range(2):
        response = client.post(url, {**document, "files": [photo()], "idempotency_key": key})
        assert response.status_code == 200

    assert UploadRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_store_one_upload(document, signed_link, unread_broker):
    repeats = 4
    start = threading.Barrier(repeats)
    answers, errors = [], []

    def repeat() -> None:
        try:
            start.wait()
            response = post(Client(), document, sig=signed_link.signature)
            answers.append((response.status_code, response.json()))
        except Exception as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=repeat) for _ in range(repeats)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert [status for status, _body in answers] == [200] * repeats
    assert len({body["records"][0]["id"] for _status, body in answers}) == 1
    assert sum(1 for _status, body in answers if body.get("replayed")) == repeats - 1
    assert UploadRecord.objects.count() == 1
    assert len(stored_files()) == 1
