"""The people's pages: the upload form from a QR link, and a document's history."""

import re
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.uploads.conftest import jpeg_bytes
from uploads import links, services
from uploads.models import UploadRecord, UploadStatus
from uploads.views import root_redirect


@pytest.mark.django_db
def test_signed_link_opens_the_form_with_the_document_locked_and_its_accent(client, signed_link):
    response = client.get(signed_link.path())
    assert response.status_code == 200
    html = response.content.decode()
    assert "SO20251021-0001" in html
    assert 'class="accent-sales"' in html
    assert 'name="doc_number" value="SO20251021-0001"' in html and 'type="hidden"' in html
    assert 'id="doc_number"' not in html, "no editable document field"
    assert signed_link.signature in html


@pytest.mark.django_db
def test_upload_page_without_a_link_sends_anonymous_people_to_sign_in(client):
    response = client.get("/uploads/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_forged_link_shows_a_chinese_refusal(client, signed_link):
    response = client.get(signed_link.path().replace("sig=", "sig=x"))
    assert response.status_code == 403
    assert "二维码链接无效或已过期" in response.content.decode()


@pytest.mark.django_db
def test_field_member_gets_an_editable_form(client, field_user):
    client.force_login(field_user)
    html = client.get("/uploads/").content.decode()
    assert 'id="doc_number"' in html and 'id="business_id"' in html


@pytest.mark.django_db
def test_form_post_without_javascript_stores_and_shows_the_answer(client, document, signed_link):
    page = client.get(signed_link.path())
    csrf = page.cookies["csrftoken"].value
    client.cookies["csrftoken"] = csrf
    response = client.post(
        signed_link.path(),
        {
            **document,
            "sig": signed_link.signature,
            "csrfmiddlewaretoken": csrf,
            "files": [SimpleUploadedFile("shot.jpg", jpeg_bytes(), "image/jpeg")],
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "已接收1个文件" in html
    assert "shot.jpg" in html
    assert UploadRecord.objects.get().original_name == "shot.jpg"


@pytest.mark.django_db
def test_form_post_of_a_bad_file_shows_why_and_stores_nothing(client, document, signed_link):
    response = client.post(
        signed_link.path(),
        {**document, "sig": signed_link.signature, "files": [SimpleUploadedFile("a.jpg", b"hello", "image/jpeg")]},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("a.jpg") == 1  # the reason is said once, beside the file it is about
    assert not UploadRecord.objects.exists()


def test_root_redirects_to_the_upload_page_keeping_the_query(rf):
    request = rf.get("/", {"business_id": "1", "doc_number": "SO1", "doc_type": "销售", "sig": "abc"})
    request.user = type("Anon", (), {"is_authenticated": False})()
    response = root_redirect(request)
    assert response.status_code == 302
    assert response["Location"].startswith("/uploads/?")
    assert response["Location"].endswith(request.META["QUERY_STRING"])


@pytest.mark.django_db
def test_history_escapes_script_in_doc_number_and_file_names(client, field_user):
    hostile = "<script>alert(1)</script>"
    services.accept_upload(
        business_id="77",
        doc_number=hostile,
        doc_type="转库",
        product_type=None,
        uploads=[SimpleUploadedFile(f"{hostile}.jpg", jpeg_bytes(), "image/jpeg")],
    )
    UploadRecord.objects.update(status=UploadStatus.FAILED, error_message=f"boom {hostile}")
    client.force_login(field_user)

    html = client.get("/uploads/history/77/").content.decode()

    assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.django_db
def test_history_shows_badges_and_polls_only_while_unfinished(client, make_records, signed_link):
    first, second = make_records(2)
    url = signed_link.history_path()

    html = client.get(url).content.decode()
    assert 'data-polling="1"' in html
    assert html.count("badge pending") == 2 and "待上传" in html

    UploadRecord.objects.filter(pk=first.pk).update(status=UploadStatus.SUCCESS)
    UploadRecord.objects.filter(pk=second.pk).update(status=UploadStatus.FAILED, error_message="连接超时")
    html = client.get(url).content.decode()
    assert 'data-polling="0"' in html
    assert "badge success" in html and "badge failed" in html and "连接超时" in html


@pytest.mark.django_db
def test_history_api_answers_the_records_of_the_linked_document_only(client, make_records, signed_link, document):
    make_records(2)
    make_records(1, business_id="5", doc_number="OTHER")

    body = client.get(f"/api/history/{document['business_id']}", {"sig": signed_link.signature}).json()
    assert body["total"] == 2
    assert {r["doc_number"] for r in body["records"]} == {document["doc_number"]}
    assert body["has_unfinished"] is True
    assert set(body["records"][0]) >= {
        "id",
        "file_name",
        "original_name",
        "file_size",
        "upload_time",
        "status",
        "error_message",
    }

    other = client.get("/api/history/5", {"sig": signed_link.signature})
    assert other.status_code == 403
    assert client.get("/uploads/history/5/", {"sig": signed_link.signature}).status_code == 403


@pytest.mark.django_db
def test_history_needs_a_link_or_a_member(client, outsider):
    assert client.get("/api/history/1").status_code == 403
    client.force_login(outsider)
    assert client.get("/uploads/history/1/").status_code == 403


def test_page_scripts_never_write_user_text_as_html():
    from pathlib import Path

    for name in ("upload.js", "history.js", "compress.js", "dom.js"):
        source = (Path(__file__).resolve().parents[2] / "uploads" / "static" / "uploads" / name).read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source), name


@pytest.mark.django_db
def test_expired_link_is_refused(client, document):
    link = links.create_link(**document, max_age_s=60)
    from django.core import signing

    payload = signing.loads(link.signature, salt=links.SALT)
    payload["e"] = 1
    expired = signing.dumps(payload, salt=links.SALT)
    response = client.get("/uploads/", {**document, "sig": expired})
    assert response.status_code == 403


@pytest.mark.django_db
def test_root_without_a_query_sends_people_to_sign_in_or_to_their_own_page(rf, field_user):
    from django.contrib.auth.models import AnonymousUser

    anonymous = rf.get("/")
    anonymous.user = AnonymousUser()
    assert "/accounts/login/" in root_redirect(anonymous)["Location"]
    member = rf.get("/")
    member.user = field_user
    assert root_redirect(member)["Location"] == "/start/"  # then to their own page, see tests/config


@pytest.mark.django_db
def test_oversize_form_post_gets_a_413_page(client, signed_link, settings, document):
    settings.MAX_FILE_SIZE = 1024
    settings.MAX_FILES_PER_UPLOAD = 1
    response = client.post(
        signed_link.path(), {**document, "files": [SimpleUploadedFile("x.jpg", jpeg_bytes(4 * 1024 * 1024))]}
    )
    assert response.status_code == 413
    assert not UploadRecord.objects.exists()


@pytest.mark.django_db
def test_history_shows_each_photo_through_the_authorised_view(client, make_records, signed_link):
    (record,) = make_records(1)
    html = client.get(signed_link.history_path()).content.decode()
    photo_url = f"/uploads/photos/{record.pk}/?{urlencode({'sig': signed_link.signature})}"
    assert f'<img src="{photo_url}"' in html
    assert 'loading="lazy"' in html

    response = client.get(photo_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, max-age=86400"
    assert b"".join(response.streaming_content) == jpeg_bytes()


@pytest.mark.django_db
def test_photo_is_refused_to_outsiders_other_links_and_the_signed_out(
    client, make_records, signed_link, outsider, staff_user
):
    (record,) = make_records(1)
    url = f"/uploads/photos/{record.pk}/"
    other_document = links.create_link(business_id="42", doc_number="SO-OTHER", doc_type="销售")

    assert client.get(url).status_code == 403
    assert client.get(url, {"sig": other_document.signature}).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    assert client.get("/uploads/photos/999999/").status_code == 403  # not even whether it exists
    client.force_login(staff_user)
    assert client.get(url).status_code == 200
    assert client.get("/uploads/photos/999999/").status_code == 404


@pytest.mark.django_db
def test_photo_of_a_deleted_record_or_a_purged_local_copy_is_not_found(client, make_records, staff_user):
    first, second = make_records(2)
    services.soft_delete([first.pk])
    UploadRecord.objects.filter(pk=second.pk).update(local_file_deleted_at="2026-01-01T00:00:00+08:00")
    client.force_login(staff_user)
    assert client.get(f"/uploads/photos/{first.pk}/").status_code == 404
    assert client.get(f"/uploads/photos/{second.pk}/").status_code == 404
