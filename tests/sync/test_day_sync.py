"""Syncing one business day: paging, mapping, idempotent upserts, the single-day endpoint."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from sync import services
from sync.documents import DOCUMENT_SPECS
from sync.models import BatchStatus, BatchTrigger, SalesOrder, SyncBatch, SyncDay
from tests.sync.conftest import run_batch

DAY = date(2025, 10, 1)


@pytest.mark.django_db(transaction=True)  # page threads use their own connections: data must be committed
def test_a_day_spanning_many_pages_is_fetched_concurrently_and_stored_once(sandbox, settings):
    settings.SYNC_PAGE_SIZE = 50
    settings.SYNC_PAGE_CONCURRENCY = 4
    settings.SYNC_WRITE_BATCH_SIZE = 40
    sandbox.faults(records_per_day=1234)  # 25 pages per document type

    result = services.sync_day(business_date=DAY)

    assert result.status == "success"
    assert result.document_counts["sales_order"] == 1234
    for spec in DOCUMENT_SPECS:
        # Every row, counted as stored (a list, not a set), against what the sandbox itself serves.
        stored = sorted(spec.model.objects.values_list("code", "remote_id"))
        assert stored == sorted((r["code"], r["id"]) for r in sandbox.documents(spec.doc_type, DAY)), spec.doc_type
        assert sandbox.state()["pages_served"][f"{spec.doc_type} {DAY}"] == 25, "each page fetched once"


@pytest.mark.django_db
def test_sales_order_header_fields_are_mapped_from_the_remote_record(sandbox):
    sandbox.faults(records_per_day=3)
    services.sync_day(business_date=DAY)
    remote = sandbox.documents("sales_order", DAY)[0]

    order = SalesOrder.objects.get(code=remote["code"])

    assert order.remote_id == remote["id"]
    assert order.customer_id == remote["agentId"]
    assert order.customer_name == remote["agentId_name"]
    assert order.business_date == DAY
    assert order.amount == Decimal(str(remote["totalMoney"])).quantize(Decimal("0.01"))
    assert order.status == remote["status"]
    assert order.status_name == remote["statusName"]
    assert order.delivery_date.isoformat() == remote["hopeReceiveDate"][:10]
    assert timezone.localtime(order.pubts).strftime("%Y-%m-%d %H:%M:%S") == remote["pubts"]  # China time


@pytest.mark.django_db
def test_resync_updates_changed_documents_in_place_without_duplicates(sandbox):
    sandbox.faults(records_per_day=50)
    services.sync_day(business_date=DAY)
    before = {o.code: (o.pk, o.amount, o.status, o.pubts) for o in SalesOrder.objects.all()}

    sandbox.faults(mutate_rate=0.5)
    changed = {r["code"]: r for r in sandbox.documents("sales_order", DAY)}
    result = services.sync_day(business_date=DAY, force=True)

    assert result.status == "success"
    assert SalesOrder.objects.count() == 50
    updated = 0
    for order in SalesOrder.objects.all():
        pk, amount, status, pubts = before[order.code]
        assert order.pk == pk, "an update keeps the row"
        remote = changed[order.code]
        assert order.amount == Decimal(str(remote["totalMoney"])).quantize(Decimal("0.01"))
        assert order.status == remote["status"]
        if (order.amount, order.status, order.pubts) != (amount, status, pubts):
            updated += 1
    assert 0 < updated < 50


@pytest.mark.django_db
def test_a_synced_day_is_skipped_unless_forced(sandbox):
    assert services.sync_day(business_date=DAY).status == "success"
    assert services.sync_day(business_date=DAY).status == "skipped"
    assert services.sync_day(business_date=DAY, force=True).status == "success"
    assert SyncDay.objects.get(sync_date=DAY).attempts == 2


@pytest.mark.django_db
def test_a_day_being_synced_by_a_live_worker_is_not_synced_twice(sandbox):
    SyncDay.objects.create(sync_date=DAY, status="syncing")
    result = services.sync_day(business_date=DAY, force=True)
    assert result.status == "failed"
    assert result.error_code == "day_busy"
    assert not SalesOrder.objects.exists()


@pytest.mark.django_db
def test_a_transient_page_failure_is_retried_and_the_day_succeeds(sandbox, settings):
    settings.SYNC_PAGE_ATTEMPTS = 3
    settings.SYNC_PAGE_RETRY_BASE_S = 0
    # Deterministic, not a 50% rate that may never fire: the next two page calls fail, so at least
    # one page needs its retries (up to two) and still gets through within its three attempts.
    sandbox.faults(fail_next=2, fail_status=503, records_per_day=10)
    result = services.sync_day(business_date=DAY)
    assert result.status == "success"
    assert SalesOrder.objects.count() == 10
    assert sandbox.state()["faults"]["fail_next"] == 0, "both failures were met, and retried"


@pytest.mark.django_db
def test_a_failed_day_keeps_its_error_on_the_day_row(sandbox):
    sandbox.faults(fail_dates=[str(DAY)])
    result = services.sync_day(business_date=DAY)
    day = SyncDay.objects.get(sync_date=DAY)
    assert result.status == day.status == "failed"
    assert day.error_code == "http_500"
    assert day.error_message
    assert day.end_time is not None


@pytest.mark.django_db
def test_sync_date_endpoint_runs_a_one_day_batch(staff_api, sandbox):
    response = staff_api.post("/api/v1/sync-status/sync/date", {"date": "2025-10-01"}, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["skipped"] is False and data["days"] == 1
    batch = run_batch(data["batch_id"])
    assert batch.trigger == BatchTrigger.DATE
    assert batch.status == BatchStatus.SUCCESS
    assert SyncDay.objects.get(sync_date=DAY).status == "success"


@pytest.mark.django_db
def test_sync_date_endpoint_skips_a_synced_day_unless_forced(staff_api, sandbox):
    services.sync_day(business_date=DAY)

    skipped = staff_api.post("/api/v1/sync-status/sync/date", {"date": "2025-10-01"}, format="json").json()
    assert skipped["status"] == "success"
    assert skipped["data"]["skipped"] is True
    assert skipped["data"]["batch_id"] is None
    assert not SyncBatch.objects.exists()

    forced = staff_api.post("/api/v1/sync-status/sync/date", {"date": "2025-10-01", "force": True}, format="json")
    assert run_batch(forced.json()["data"]["batch_id"]).success_days == 1
    assert SyncDay.objects.get(sync_date=DAY).attempts == 2


@pytest.mark.django_db
def test_sync_date_endpoint_refuses_a_bad_date_and_a_running_batch(staff_api, sandbox):
    bad = staff_api.post("/api/v1/sync-status/sync/date", {"date": "10/01/2025"}, format="json")
    assert bad.status_code == 400
    assert "日期格式无效" in bad.json()["message"]

    staff_api.post("/api/v1/sync-status/sync/date", {"date": "2025-10-01"}, format="json")
    busy = staff_api.post("/api/v1/sync-status/sync/date", {"date": "2025-10-02"}, format="json")
    assert busy.status_code == 409


@pytest.mark.django_db
def test_status_list_filters_by_status_and_date_range(staff_api, sandbox):
    sandbox.faults(fail_dates=["2025-10-02"])
    for day in (date(2025, 10, 1), date(2025, 10, 2), date(2025, 10, 3)):
        services.sync_day(business_date=day)

    body = staff_api.get("/api/v1/sync-status/list", {"page": 1, "page_size": 50}).json()
    assert body["status"] == "success"
    assert body["data"]["count"] == 3
    assert [r["sync_date"] for r in body["data"]["records"]] == ["2025-10-03", "2025-10-02", "2025-10-01"]
    record = body["data"]["records"][0]
    for column in ("total_records", "success_count", "failed_count", "start_time", "end_time", "duration_seconds"):
        assert column in record
    assert record["document_counts"]["sales_order"] == 40

    failed = staff_api.get("/api/v1/sync-status/list", {"status": "failed"}).json()["data"]
    assert [r["sync_date"] for r in failed["records"]] == ["2025-10-02"]
    assert failed["records"][0]["error_message"]
    ranged = staff_api.get("/api/v1/sync-status/list", {"start_date": "2025-10-02", "end_date": "2025-10-03"})
    assert ranged.json()["data"]["count"] == 2


@pytest.mark.django_db(transaction=True)  # as in production: each page is written in its own transaction
def test_a_code_too_long_for_its_column_is_refused_on_its_own_and_the_rest_of_the_day_is_stored(sandbox):
    # Records 2 and 4 of every type carry 70-character codes that share their first 64
    # characters: PostgreSQL used to keep 64 of them (or fail the whole day on the second one),
    # SQLite all 70. Both must refuse exactly these records and store the others whole.
    sandbox.faults(records_per_day=5, oversized_codes=[2, 4])
    served = sandbox.documents("sales_order", DAY)
    too_long = [r["code"] for r in served if len(r["code"]) > 64]
    assert len(too_long) == 2 and too_long[0][:64] == too_long[1][:64]

    result = services.sync_day(business_date=DAY)

    day = SyncDay.objects.get(sync_date=DAY)
    assert result.status == day.status == "success"
    assert (day.success_count, day.failed_count) == (3 * len(DOCUMENT_SPECS), 2 * len(DOCUMENT_SPECS))
    assert day.error_code == "invalid_record"
    assert f"{2 * len(DOCUMENT_SPECS)} 条记录无法保存" in day.error_message
    assert f"sales_order {too_long[0]}: 'code' is 70 characters long, the column holds 64" in day.error_message
    stored = set(SalesOrder.objects.values_list("code", flat=True))
    assert stored == {r["code"] for r in served if len(r["code"]) <= 64}
