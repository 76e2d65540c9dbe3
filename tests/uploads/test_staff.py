"""Staff: the admin (badges, statistics, chart, actions, soft delete, QR) and the admin API."""

import io
import re
import zipfile

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from uploads import files
from uploads.models import UploadRecord, UploadStatus

CHANGELIST = "/admin/uploads/uploadrecord/"


def set_status(record, status, **fields):
    UploadRecord.objects.filter(pk=record.pk).update(status=status, **fields)


def read_zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def workbook_rows(archive: zipfile.ZipFile):
    (name,) = [n for n in archive.namelist() if n.endswith(".xlsx")]
    sheet = load_workbook(io.BytesIO(archive.read(name))).active
    return list(sheet.iter_rows())


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.django_db
def test_admin_lists_records_with_badges_statistics_and_a_30_day_chart(staff_client, make_records):
    _a, b, c = make_records(3)
    set_status(b, UploadStatus.SUCCESS)
    set_status(c, UploadStatus.FAILED, error_message="连接超时")

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="yq-badge yq-failed"' in html and 'class="yq-badge yq-success"' in html
    assert '<strong id="stat-total">3</strong>' in html
    assert '<strong id="stat-failed">1</strong>' in html
    assert '<svg id="upload-chart"' in html and html.count("<title>") >= 30
    assert 'data-status="success"' in html and 'data-status="failed"' in html
    assert "cdn" not in html.lower()


@pytest.mark.django_db
def test_admin_filters_search_and_date_hierarchy(staff_client, make_records):
    make_records(1)
    other = make_records(1, doc_number="PO-777", business_id="9")[0]
    set_status(other, UploadStatus.FAILED)

    assert "PO-777" in staff_client.get(CHANGELIST, {"status__exact": "failed"}).content.decode()
    listed = staff_client.get(CHANGELIST, {"q": "PO-777"}).content.decode()
    assert "PO-777" in listed and "SO20251021-0001" not in listed.split("result_list")[-1]
    today = timezone.localdate()
    assert staff_client.get(CHANGELIST, {"upload_time__year": today.year}).status_code == 200


@pytest.mark.django_db
def test_admin_retry_action_requeues_failed_records_only(
    staff_client, make_records, django_capture_on_commit_callbacks
):
    failed, success = make_records(2)
    set_status(failed, UploadStatus.FAILED, retry_count=2, error_code="http_503")
    set_status(success, UploadStatus.SUCCESS)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(
            CHANGELIST, {"action": "retry_selected", "_selected_action": [failed.pk, success.pk]}, follow=True
        )

    assert response.status_code == 200
    assert "已重新排队 1 条失败记录" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == UploadStatus.PENDING and failed.retry_count == 0
    assert UploadRecord.objects.get(pk=success.pk).status == UploadStatus.SUCCESS
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_admin_delete_is_soft(staff_client, make_records):
    record = make_records(1)[0]
    response = staff_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"}, follow=True
    )
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.deleted_at is not None
    assert record.file_name not in staff_client.get(CHANGELIST).content.decode()
    assert files.absolute_path(record.local_file_path).exists()


@pytest.mark.django_db
def test_admin_export_action_streams_the_selected_records(staff_client, make_records):
    chosen, _other = make_records(2)
    response = staff_client.post(CHANGELIST, {"action": "export_selected", "_selected_action": [chosen.pk]})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = read_zip(response)
    assert f"images/1836660026080493581_SO20251021-0001/{chosen.file_name}" in archive.namelist()
    assert len([n for n in archive.namelist() if n.startswith("images/")]) == 1


@pytest.mark.django_db
def test_admin_prints_a_qr_code_for_the_document(staff_client, make_records):
    record = make_records(1)[0]
    response = staff_client.get(f"{CHANGELIST}{record.pk}/qr/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "sig=" in html and record.doc_number in html


@pytest.mark.django_db
def test_admin_new_document_qr_form_signs_a_link_that_opens_the_upload_page(staff_client, client):
    page = staff_client.get(CHANGELIST)
    assert f'href="{CHANGELIST}qr/new/"' in page.content.decode() and "生成上传二维码" in page.content.decode()
    assert "生成上传二维码" in staff_client.get(f"{CHANGELIST}qr/new/").content.decode()

    response = staff_client.post(
        f"{CHANGELIST}qr/new/",
        {"business_id": "2000000000000000001", "doc_number": "SO-NEW-1", "doc_type": "转库", "valid_days": "2"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.count('class="yq-code"') == 1 and "<svg" in html
    url = re.search(r'<a href="(http://testserver/uploads/\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert "business_id=2000000000000000001" in url and "SO-NEW-1" in client.get(url).content.decode()
    assert not UploadRecord.objects.exists()  # a code is not an upload


@pytest.mark.django_db
def test_admin_new_document_qr_form_refuses_bad_input_in_chinese(staff_client):
    response = staff_client.post(
        f"{CHANGELIST}qr/new/", {"business_id": "１２３", "doc_number": "", "doc_type": "销售", "valid_days": "999"}
    )
    html = response.content.decode()
    assert 'class="yq-code"' not in html
    assert "业务单据ID必须为纯数字" in html and "该字段是必填项" in html and "最长 7 天" in html


@pytest.mark.django_db
def test_admin_qr_form_is_for_staff_only(client, field_user):
    client.force_login(field_user)
    response = client.get(f"{CHANGELIST}qr/new/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_admin_prints_one_code_per_selected_document_on_a_sheet(staff_client, make_records):
    a1, a2 = make_records(2)
    (b1,) = make_records(1, business_id="77", doc_number="SO-B")
    response = staff_client.post(CHANGELIST, {"action": "print_qr_codes", "_selected_action": [a1.pk, a2.pk, b1.pk]})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="yq-code"') == 2 and "SO-B" in html and a1.doc_number in html
    assert "size: A4" in html


@pytest.mark.django_db
def test_admin_shows_photo_previews_in_the_list_and_on_the_record(staff_client, make_records):
    (record,) = make_records(1)
    photo = f"/uploads/photos/{record.pk}/"
    assert f'class="yq-thumb" src="{photo}"' in staff_client.get(CHANGELIST).content.decode()
    page = staff_client.get(f"{CHANGELIST}{record.pk}/change/").content.decode()
    assert f'<a href="{photo}" target="_blank"' in page and "上传人" in page and "二维码链接（未登录）" in page
    assert staff_client.get(photo).status_code == 200


@pytest.mark.django_db
def test_upload_links_api_answers_url_expiry_and_qr_svg(staff_api, client, document):
    response = staff_api.post("/api/upload-links", {**document, "expires_in_s": 3600}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["url"].startswith("http://testserver/uploads/?") and "sig=" in body["url"]
    assert body["qr_svg"].lstrip().startswith("<svg")
    expires = timezone.datetime.fromisoformat(body["expires_at"])
    assert 3500 < (expires - timezone.now()).total_seconds() <= 3600
    assert client.get(body["url"].removeprefix("http://testserver")).status_code == 200


@pytest.mark.django_db
def test_upload_links_api_refuses_a_business_id_of_non_ascii_digits(staff_api, document):
    response = staff_api.post("/api/upload-links", {**document, "business_id": "１２３"}, format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_field_members_may_not_create_links_or_use_the_admin_api(field_api, document):
    assert field_api.post("/api/upload-links", document, format="json").status_code == 403
    for path in ("/api/admin/records", "/api/admin/statistics", "/api/admin/export"):
        assert field_api.get(path).status_code == 403
    assert field_api.post("/api/admin/records/retry", {"ids": [1]}, format="json").status_code == 403


@pytest.mark.django_db
def test_admin_records_api_filters_and_pages_like_the_seed(staff_api, make_records):
    make_records(3)
    failed = make_records(1, doc_number="PO-9", doc_type="转库", product_type="快消")[0]
    set_status(failed, UploadStatus.FAILED, error_code="NETWORK_ERROR", error_message="连接超时")

    page = staff_api.get("/api/admin/records", {"page": 2, "page_size": 3}).json()
    assert (page["total"], page["page"], page["page_size"], page["total_pages"]) == (4, 2, 3, 2)
    assert len(page["records"]) == 1

    only = staff_api.get(
        "/api/admin/records", {"status": "failed", "doc_type": "转库", "product_type": "快消", "search": "po-9"}
    ).json()
    assert only["total"] == 1
    record = only["records"][0]
    assert (record["error_code"], record["error_message"], record["status"]) == ("NETWORK_ERROR", "连接超时", "failed")
    today = timezone.localdate().isoformat()
    assert staff_api.get("/api/admin/records", {"start_date": today, "end_date": today}).json()["total"] == 4
    assert staff_api.get("/api/admin/records", {"end_date": "2000-01-01"}).json()["total"] == 0
    assert staff_api.get("/api/admin/records", {"status": "bogus"}).status_code == 400


@pytest.mark.django_db
def test_admin_statistics_api_counts_per_status_and_doc_type(staff_api, make_records):
    a, b, _c = make_records(3)
    set_status(a, UploadStatus.SUCCESS)
    set_status(b, UploadStatus.FAILED)
    make_records(1, doc_type="其他")
    deleted = make_records(1)[0]
    UploadRecord.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())

    assert staff_api.get("/api/admin/statistics").json() == {
        "total_uploads": 4,
        "pending_count": 2,
        "uploading_count": 0,
        "success_count": 1,
        "failed_count": 1,
        "by_doc_type": {"销售": 3, "其他": 1},
    }


@pytest.mark.django_db
def test_admin_retry_api_requeues_failed_ones_and_answers_how_many(staff_api, make_records):
    failed, pending = make_records(2)
    set_status(failed, UploadStatus.FAILED)
    response = staff_api.post("/api/admin/records/retry", {"ids": [failed.pk, pending.pk, 999999]}, format="json")
    assert response.status_code == 200
    assert response.json()["retried"] == 1
    assert UploadRecord.objects.get(pk=failed.pk).status == UploadStatus.PENDING
    assert staff_api.post("/api/admin/records/retry", {"ids": []}, format="json").status_code == 400


@pytest.mark.django_db
def test_export_writes_formula_looking_text_as_text(staff_api, make_records):
    make_records(1, doc_number='=HYPERLINK("http://evil","x")', product_type="@SUM(1+1)")
    response = staff_api.get("/api/admin/export")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="upload_records_')

    header, row = workbook_rows(read_zip(response))
    assert [c.value for c in header][:9] == [
        "单据编号",
        "单据类型",
        "产品类型",
        "业务ID",
        "上传时间",
        "文件名",
        "原文件名",
        "文件大小(字节)",
        "状态",
    ]
    assert row[0].value == '=HYPERLINK("http://evil","x")'
    assert row[0].data_type == "s", "a string, never a formula"
    assert row[0].quotePrefix
    assert row[2].value == "@SUM(1+1)" and row[2].data_type == "s"
    assert row[8].value == "待上传"


@pytest.mark.django_db
def test_export_zips_workbook_and_images_with_filters_and_leaves_no_temp_files(
    staff_api, make_records, private_tempdir
):
    kept = make_records(3)
    failed = make_records(1, doc_number="PO-1")[0]
    set_status(failed, UploadStatus.FAILED)

    archive = read_zip(staff_api.get("/api/admin/export", {"search": "SO2025"}))

    assert archive.testzip() is None
    folder = "images/1836660026080493581_SO20251021-0001"
    images = sorted(n for n in archive.namelist() if n.startswith("images/"))
    assert images == sorted(f"{folder}/{r.file_name}" for r in kept)
    for record in kept:
        assert archive.read(f"{folder}/{record.file_name}") == files.absolute_path(record.local_file_path).read_bytes()
    assert len(workbook_rows(archive)) == 1 + 3
    assert list(private_tempdir.iterdir()) == [], "no temporary file left behind"


@pytest.mark.django_db
def test_abandoned_export_leaves_no_temp_files(staff_api, make_records, private_tempdir):
    make_records(3)
    response = staff_api.get("/api/admin/export")
    stream = iter(response.streaming_content)
    next(stream)
    response.close()  # the client went away mid-download
    assert list(private_tempdir.iterdir()) == []


@pytest.mark.django_db
def test_export_of_text_with_control_characters_still_completes(staff_api, make_records):
    # A scanner's vertical tab in a doc_number is accepted by the upload; a worksheet refuses it.
    make_records(1, doc_number="SO\x0b1")
    ok = make_records(1, doc_number="SO2")[0]
    set_status(ok, UploadStatus.FAILED, error_message="\x01=1+1")

    archive = read_zip(staff_api.get("/api/admin/export"))

    assert archive.testzip() is None
    rows = {row[0].value: row for row in workbook_rows(archive)[1:]}
    assert set(rows) == {"SO1", "SO2"}
    assert rows["SO2"][10].value == "=1+1" and rows["SO2"][10].data_type == "s"


@pytest.mark.django_db
def test_export_workbook_is_ready_to_read_and_links_each_row_to_its_photo_in_its_documents_folder(
    staff_api, make_records
):
    first = make_records(2)
    other = make_records(1, business_id="77", doc_number='PO/2025:"9"')[0]

    archive = read_zip(staff_api.get("/api/admin/export"))

    (name,) = [n for n in archive.namelist() if n.endswith(".xlsx")]
    sheet = load_workbook(io.BytesIO(archive.read(name))).active
    assert sheet.freeze_panes == "A2", "the header stays in view"
    assert sheet.auto_filter.ref == "A1:M4", "a filter over the header and every row"
    assert sheet.column_dimensions["A"].width >= 16 and sheet.column_dimensions["K"].width >= 30
    assert sheet["M1"].value == "照片"
    links = {row[5].value: row[12].value for row in sheet.iter_rows(min_row=2)}
    expected = {r.file_name: f"images/1836660026080493581_SO20251021-0001/{r.file_name}" for r in first}
    expected[other.file_name] = f"images/77_PO_2025__9_/{other.file_name}"
    for file_name, path in expected.items():
        assert links[file_name] == f'=HYPERLINK("{path}","{file_name}")'
        assert path in archive.namelist(), "the link points at the photo inside the ZIP"
