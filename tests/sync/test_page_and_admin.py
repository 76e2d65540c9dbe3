"""The /sync/ staff page and the admin of days, batches and synced documents."""

import io
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from sync import services
from sync.models import SalesOrder, SyncBatch
from tests.sync.conftest import run_batch

pytestmark = pytest.mark.django_db
START = date(2025, 10, 1)


def test_staff_see_the_form_the_running_batch_recent_batches_and_failed_days(client, staff_user, sandbox):
    sandbox.faults(records_per_day=3, fail_dates=["2025-10-02"])
    run_batch(services.start_batch(start_date=START, end_date=START + timedelta(days=1)).pk)
    running = services.start_batch(start_date=START + timedelta(days=5), end_date=START + timedelta(days=6))
    client.force_login(staff_user)

    page = client.get("/sync/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "90" in html  # the range hint
    assert 'id="batch-form"' in html
    assert f"#{running.pk}" in html  # the running batch with its progress bar
    assert 'class="progress"' in html
    assert "重试失败的日期" in html  # the partial batch can be retried
    assert 'class="badge failed"' in html and 'class="badge success"' in html
    assert "500" in html  # the failed day's error
    assert f'"activeBatchId": {running.pk}' in html


def test_the_day_table_filters_by_status(client, staff_user, sandbox):
    sandbox.faults(fail_dates=["2025-10-02"])
    services.sync_day(business_date=START)
    services.sync_day(business_date=START + timedelta(days=1))
    client.force_login(staff_user)
    html = client.get("/sync/", {"status": "failed"}).content.decode()
    assert "2025-10-02" in html
    assert "<td>2025-10-01</td>" not in html


def test_field_users_may_not_open_the_sync_page(client, field_user):
    client.force_login(field_user)
    assert client.get("/sync/").status_code == 403


def test_user_text_never_goes_through_inner_html():
    script = (Path(__file__).resolve().parents[2] / "sync" / "static" / "sync" / "sync.js").read_text()
    assert "innerHTML" not in script
    assert "textContent" in script


def test_admin_lists_days_batches_and_documents(admin_client, sandbox):
    sandbox.faults(records_per_day=2)
    batch = run_batch(services.start_batch(start_date=START, end_date=START).pk)
    for path in (
        "/admin/sync/syncday/",
        "/admin/sync/syncbatch/",
        f"/admin/sync/syncbatch/{batch.pk}/change/",
        "/admin/sync/salesorder/",
        "/admin/sync/receivable/",
        "/admin/sync/materialstock/",
    ):
        assert admin_client.get(path).status_code == 200, path
    assert "SO20251001-00001" in admin_client.get("/admin/sync/salesorder/").content.decode()


def test_admin_action_resyncs_exactly_the_selected_days_as_a_forced_batch(admin_client, sandbox):
    sandbox.faults(records_per_day=2)
    first, last = START, START + timedelta(days=29)
    for day in (first, START + timedelta(days=1), last):
        services.sync_day(business_date=day)
    from sync.models import SyncDay

    selected = SyncDay.objects.filter(sync_date__in=[first, last])
    response = admin_client.post(
        "/admin/sync/syncday/",
        {"action": "resync_days", "_selected_action": list(selected.values_list("pk", flat=True))},
        follow=True,
    )

    assert response.status_code == 200
    batch = SyncBatch.objects.get()
    assert (batch.force, batch.trigger, batch.total_days) == (True, "admin", 2)
    assert list(batch.days.values_list("sync_date", flat=True)) == [first, last]
    batch = run_batch(batch.pk)
    assert (batch.status, batch.processed_days, batch.success_days) == ("success", 2, 2)
    attempts = dict(SyncDay.objects.values_list("sync_date", "attempts"))
    assert attempts == {first: 2, START + timedelta(days=1): 1, last: 2}, "the day between was not synced again"
    assert "重新同步 2 天" in response.content.decode()


def test_admin_actions_cancel_and_retry_batches(admin_client, sandbox):
    batch = services.start_batch(start_date=START, end_date=START + timedelta(days=1))
    admin_client.post("/admin/sync/syncbatch/", {"action": "cancel_batches", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.status == "cancelled"
    admin_client.post("/admin/sync/syncbatch/", {"action": "retry_batches", "_selected_action": [batch.pk]})
    batch.refresh_from_db()
    assert batch.status == "queued"


def test_the_running_batch_shows_each_days_attempts_and_next_attempt_in_chinese(client, staff_user, sandbox, settings):
    settings.SYNC_DAY_RETRY_HORIZON_S = 1800
    sandbox.faults(fail_status=503, fail_next=settings.SYNC_PAGE_ATTEMPTS)
    batch = services.start_batch(start_date=START, end_date=START + timedelta(days=1))
    from sync import tasks

    tasks.sync_batch_step(batch.pk)  # the first day waits to be retried
    day = batch.days.get(sync_date=START)
    client.force_login(staff_user)

    html = client.get("/sync/").content.decode()

    assert 'id="running-days"' in html
    assert "尝试次数" in html and "下次尝试时间" in html
    assert 'class="badge retrying">等待重试' in html
    assert timezone.localtime(day.next_attempt_at).strftime("%Y-%m-%d %H:%M:%S") in html
    assert "已尝试 1 次，将于" in html and "http_503" in html


def test_admin_exports_the_filtered_document_list_as_a_streamed_xlsx_and_leaves_no_file(admin_client, private_tempdir):
    now = timezone.now()
    common = {"business_date": START, "synced_at": now, "currency": "CNY"}
    SalesOrder.objects.create(
        remote_id="1",
        code="SO-1",
        customer_name="=cmd|' /C calc'!A0",
        amount=Decimal("12.50"),
        status_name="开立",
        **common,
    )
    SalesOrder.objects.create(
        remote_id="2", code="SO-2", customer_name="乙公司", amount=Decimal("3"), status_name="审核", **common
    )
    SalesOrder.objects.create(
        remote_id="3",
        code="SO-3",
        customer_name="丙公司",
        status_name="开立",
        **{**common, "business_date": START + timedelta(days=1)},
    )
    changelist = admin_client.get(
        "/admin/sync/salesorder/",
        {"status_name": "开立", "business_date__day": "1", "business_date__month": "10", "business_date__year": "2025"},
    )
    assert "/admin/sync/salesorder/export/?" in changelist.content.decode(), "the button carries the list's filters"

    response = admin_client.get(
        "/admin/sync/salesorder/export/",
        {"status_name": "开立", "business_date__day": "1", "business_date__month": "10", "business_date__year": "2025"},
    )

    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="salesorder_')
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header, *rows = list(sheet.iter_rows())
    names = [c.value for c in header]
    assert "单据编号" in names and "客户" in names and "金额" in names
    assert [row[names.index("单据编号")].value for row in rows] == ["SO-1"], "only the rows the filters show"
    customer = rows[0][names.index("客户")]
    assert customer.value == "=cmd|' /C calc'!A0" and customer.data_type == "s", "text, never a formula"
    assert rows[0][names.index("金额")].value == 12.5
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    assert list(private_tempdir.iterdir()) == [], "no temporary file left behind"


def test_each_day_links_to_its_documents_in_the_admin_filtered_by_that_date(client, admin_client, staff_user, sandbox):
    sandbox.faults(records_per_day=2)
    run_batch(services.start_batch(start_date=START, end_date=START + timedelta(days=1)).pk)
    client.force_login(staff_user)

    html = client.get("/sync/").content.decode()

    link = "/admin/sync/salesorder/?business_date__year=2025&amp;business_date__month=10&amp;business_date__day=1"
    assert f'<a href="{link}">销售订单 2</a>' in html
    documents = admin_client.get(link.replace("&amp;", "&")).content.decode()
    assert "SO20251001-00001" in documents and "SO20251001-00002" in documents
    assert "SO20251002-00001" not in documents, "only that day's documents"


def test_the_page_tells_its_script_to_say_done_and_to_refresh_the_tables_in_place(client, staff_user):
    client.force_login(staff_user)
    html = client.get("/sync/").content.decode()
    config = json.loads(re.search(r'<script id="sync-config" type="application/json">(.*?)</script>', html).group(1))
    assert config["text"]["done"] == "完成：批次 #%(id)s %(status)s"
    assert 'id="recent-batches"' in html and 'id="recent-days"' in html
    script = (Path(__file__).resolve().parents[2] / "sync" / "static" / "sync" / "sync.js").read_text()
    assert "window.location.reload" not in script, "the tables update in place, the page is not reloaded"
    assert "DOMParser" in script and "innerHTML" not in script


def test_a_batch_reads_its_staff_slot_marker_in_chinese(admin_client, sandbox):
    sandbox.faults(records_per_day=1)
    batch = run_batch(services.start_batch(start_date=START, end_date=START).pk)
    html = admin_client.get(f"/admin/sync/syncbatch/{batch.pk}/change/").content.decode()
    assert "员工批次（同一时间只能一个）" in html and "Active marker" not in html
