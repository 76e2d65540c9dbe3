"""Batches over HTTP: validation, one at a time, skip/force, partial failure, retry, cancel, progress."""

from datetime import date, timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from sync.documents import DOCUMENT_SPECS
from sync.models import BatchStatus, SalesOrder, SyncBatch, SyncDay
from tests.sync.conftest import run_batch

BATCH_URL = "/api/v1/sync-status/sync/batch"
START = date(2025, 10, 1)

pytestmark = pytest.mark.django_db


def start(api, start_date, end_date, **extra):
    return api.post(BATCH_URL, {"start_date": str(start_date), "end_date": str(end_date), **extra}, format="json")


@pytest.mark.parametrize(
    ("start_date", "end_date", "expected"),
    [
        ("2025-13-01", "2025-10-02", "日期格式无效"),
        ("2025/10/01", "2025-10-02", "日期格式无效"),
        ("2025-10-05", "2025-10-01", "开始日期不能晚于结束日期"),
        ("2025-01-01", "2025-04-01", "不能超过 90 天"),
    ],
)
def test_bad_batch_requests_are_refused_with_a_chinese_message(staff_api, start_date, end_date, expected):
    response = staff_api.post(BATCH_URL, {"start_date": start_date, "end_date": end_date}, format="json")
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert expected in response.json()["message"]
    assert not SyncBatch.objects.exists()


def test_missing_dates_are_refused(staff_api):
    response = staff_api.post(BATCH_URL, {}, format="json")
    assert response.status_code == 400
    assert "请填写日期" in response.json()["message"]


def test_a_range_ending_in_the_future_is_refused(staff_api):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = start(staff_api, tomorrow - timedelta(days=3), tomorrow)
    assert response.status_code == 400
    assert "不能晚于今天" in response.json()["message"]


def test_exactly_90_days_is_accepted(staff_api, sandbox):
    response = start(staff_api, START, START + timedelta(days=89))
    assert response.status_code == 200
    assert response.json()["data"]["days"] == 90


def test_batch_answers_at_once_then_syncs_every_day_in_background_steps(staff_api, sandbox):
    sandbox.faults(records_per_day=30)
    response = start(staff_api, START, START + timedelta(days=2))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["data"]["days"] == 3
    assert "3 天" in body["data"]["message"]
    batch = SyncBatch.objects.get(pk=body["data"]["batch_id"])
    assert batch.status == BatchStatus.QUEUED
    assert not SalesOrder.objects.exists(), "nothing is synced inside the request"

    batch = run_batch(batch.pk)

    assert batch.status == BatchStatus.SUCCESS
    assert (batch.processed_days, batch.success_days, batch.failed_days, batch.skipped_days) == (3, 3, 0, 0)
    assert batch.total_records == 3 * 30 * len(DOCUMENT_SPECS)
    assert batch.finished_at and batch.duration_seconds > 0
    assert SalesOrder.objects.count() == 90
    for day in SyncDay.objects.all():
        assert day.status == "success"
        assert day.document_counts["sales_order"] == 30
        assert day.success_count == day.total_records == 30 * len(DOCUMENT_SPECS)
        assert day.end_time and day.duration_seconds is not None


def test_a_second_batch_is_refused_with_409_while_one_is_running(staff_api, sandbox):
    first = start(staff_api, START, START + timedelta(days=1))
    assert first.status_code == 200

    second = start(staff_api, START + timedelta(days=5), START + timedelta(days=6))

    assert second.status_code == 409
    assert second.json()["status"] == "error"
    assert second.json()["code"] == "batch_running"
    assert f"#{first.json()['data']['batch_id']}" in second.json()["message"]
    run_batch(first.json()["data"]["batch_id"])
    assert start(staff_api, START + timedelta(days=5), START + timedelta(days=6)).status_code == 200


def test_the_database_itself_refuses_a_second_active_batch():
    SyncBatch.objects.create(start_date=START, end_date=START, total_days=1, status=BatchStatus.SYNCING)
    SyncBatch.objects.create(start_date=START, end_date=START, total_days=1, status=BatchStatus.SUCCESS)
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncBatch.objects.create(start_date=START, end_date=START, total_days=1, status=BatchStatus.QUEUED)


def test_days_already_synced_are_skipped_unless_forced(staff_api, sandbox):
    sandbox.faults(records_per_day=5)
    run_batch(start(staff_api, START, START).json()["data"]["batch_id"])
    first_end = SyncDay.objects.get(sync_date=START).end_time

    batch = run_batch(start(staff_api, START, START + timedelta(days=1)).json()["data"]["batch_id"])
    assert (batch.success_days, batch.skipped_days) == (1, 1)
    assert batch.days.get(sync_date=START).status == "skipped"
    assert SyncDay.objects.get(sync_date=START).end_time == first_end

    forced = run_batch(start(staff_api, START, START + timedelta(days=1), force=True).json()["data"]["batch_id"])
    assert (forced.success_days, forced.skipped_days) == (2, 0)
    assert SyncDay.objects.get(sync_date=START).end_time > first_end
    assert SyncDay.objects.get(sync_date=START).attempts == 2
    assert SalesOrder.objects.count() == 10


def test_a_failing_day_leaves_the_batch_partial_and_retry_reruns_only_that_day(staff_api, sandbox):
    sandbox.faults(records_per_day=4, fail_dates=[str(START + timedelta(days=1))])
    batch_id = start(staff_api, START, START + timedelta(days=2)).json()["data"]["batch_id"]

    batch = run_batch(batch_id)

    assert batch.status == BatchStatus.PARTIAL
    assert (batch.success_days, batch.failed_days, batch.processed_days) == (2, 1, 3)
    failed = batch.days.get(sync_date=START + timedelta(days=1))
    assert failed.status == "failed"
    assert failed.error_code == "http_500"
    assert failed.error_message.startswith("用友服务器出错（HTTP 500）："), "the reason in Chinese, the detail after it"
    assert "500" in failed.error_message
    assert SyncDay.objects.get(sync_date=START + timedelta(days=1)).status == "failed"
    assert "2025-10-02" in batch.error_message
    good_day = batch.days.get(sync_date=START)
    good_finished = good_day.finished_at

    sandbox.faults(fail_dates=[])
    retry = staff_api.post(f"/api/v1/sync-status/batches/{batch_id}/retry")
    assert retry.status_code == 200
    assert retry.json()["data"]["status"] == "queued"
    assert retry.json()["data"]["processed_days"] == 2
    batch = run_batch(batch_id)

    assert batch.status == BatchStatus.SUCCESS
    assert (batch.success_days, batch.failed_days, batch.processed_days, batch.attempts) == (3, 0, 3, 2)
    assert batch.days.get(sync_date=START).finished_at == good_finished, "a succeeded day is not run again"
    assert batch.days.get(sync_date=START).attempts == 1
    assert batch.days.get(sync_date=START + timedelta(days=1)).attempts == 1, "a retry counts attempts afresh"
    assert SalesOrder.objects.count() == 12


def test_a_batch_where_every_day_fails_is_failed(staff_api, sandbox):
    sandbox.faults(fail_dates=[str(START)])
    batch = run_batch(start(staff_api, START, START).json()["data"]["batch_id"])
    assert batch.status == BatchStatus.FAILED
    assert batch.failed_days == 1


def test_retry_of_a_successful_batch_is_refused(staff_api, sandbox):
    batch = run_batch(start(staff_api, START, START).json()["data"]["batch_id"])
    response = staff_api.post(f"/api/v1/sync-status/batches/{batch.pk}/retry")
    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"


def test_cancel_stops_the_batch_after_the_current_day(staff_api, sandbox):
    from sync import tasks

    batch_id = start(staff_api, START, START + timedelta(days=4)).json()["data"]["batch_id"]
    tasks.sync_batch_step(batch_id)  # day 1 done; a worker would now pick up day 2
    # A worker is mid-day: it holds the lease, so cancel can only ask it to stop.
    SyncBatch.objects.filter(pk=batch_id).update(
        lease_token="a-worker", lease_expires_at=timezone.now() + timedelta(minutes=5)
    )

    response = staff_api.post(f"/api/v1/sync-status/batches/{batch_id}/cancel")

    assert response.status_code == 200
    assert response.json()["data"]["cancel_requested"] is True
    assert response.json()["data"]["status"] == "syncing"
    SyncBatch.objects.filter(pk=batch_id).update(lease_token="", lease_expires_at=None)  # that worker's day ended
    batch = run_batch(batch_id)
    assert batch.status == BatchStatus.CANCELLED
    assert batch.processed_days == 1
    assert list(batch.days.values_list("status", flat=True)) == ["success"] + ["cancelled"] * 4
    assert staff_api.post(f"/api/v1/sync-status/batches/{batch_id}/cancel").status_code == 409

    retried = run_batch(staff_api.post(f"/api/v1/sync-status/batches/{batch_id}/retry").json()["data"]["id"])
    assert retried.status == BatchStatus.SUCCESS
    assert retried.processed_days == 5


def test_cancel_of_a_queued_batch_stops_it_at_once(staff_api, sandbox):
    batch_id = start(staff_api, START, START + timedelta(days=2)).json()["data"]["batch_id"]

    response = staff_api.post(f"/api/v1/sync-status/batches/{batch_id}/cancel")

    assert response.json()["data"]["status"] == "cancelled"
    assert run_batch(batch_id).processed_days == 0
    assert not SalesOrder.objects.exists()
    assert start(staff_api, START, START).status_code == 200, "a cancelled batch no longer blocks others"


def test_batch_detail_shows_progress_percent_and_eta_while_running(staff_api, sandbox):
    from sync import tasks

    batch_id = start(staff_api, START, START + timedelta(days=3)).json()["data"]["batch_id"]
    detail = staff_api.get(f"/api/v1/sync-status/batches/{batch_id}").json()["data"]
    assert (detail["percent"], detail["eta_seconds"], detail["is_active"]) == (0.0, None, True)
    assert [day["status"] for day in detail["days"]] == ["pending"] * 4

    tasks.sync_batch_step(batch_id)
    detail = staff_api.get(f"/api/v1/sync-status/batches/{batch_id}").json()["data"]

    assert detail["status"] == "syncing"
    assert detail["processed_days"] == 1
    assert detail["percent"] == 25.0
    assert detail["eta_seconds"] is not None and detail["eta_seconds"] >= 0
    assert detail["eta"] is not None
    assert detail["days"][0]["status"] == "success"
    assert detail["days"][0]["records"] > 0

    run_batch(batch_id)
    detail = staff_api.get(f"/api/v1/sync-status/batches/{batch_id}").json()["data"]
    assert (detail["percent"], detail["eta_seconds"], detail["is_active"]) == (100.0, None, False)


def test_batches_list_is_paged_newest_first_and_filterable(staff_api, sandbox):
    for offset in range(3):
        run_batch(
            start(staff_api, START + timedelta(days=offset), START + timedelta(days=offset)).json()["data"]["batch_id"]
        )
    body = staff_api.get("/api/v1/sync-status/batches", {"page_size": 2}).json()
    assert body["status"] == "success"
    assert body["data"]["count"] == 3
    assert len(body["data"]["records"]) == 2
    assert body["data"]["records"][0]["start_date"] == "2025-10-03"
    assert body["data"]["records"][0]["created_by"] == "staff1"
    assert staff_api.get("/api/v1/sync-status/batches", {"status": "failed"}).json()["data"]["count"] == 0


def test_unknown_batch_is_404(staff_api):
    assert staff_api.get("/api/v1/sync-status/batches/999").status_code == 404
    assert staff_api.post("/api/v1/sync-status/batches/999/cancel").status_code == 404


@pytest.mark.parametrize("who", ["field_api", "outsider"])
def test_only_staff_may_start_or_read_batches(request, who, django_user_model):
    if who == "outsider":
        from rest_framework.test import APIClient

        api = APIClient()
        api.force_authenticate(request.getfixturevalue("outsider"))
    else:
        api = request.getfixturevalue(who)
    assert start(api, START, START).status_code == 403
    assert api.get("/api/v1/sync-status/batches").status_code == 403
    assert api.get("/api/v1/sync-status/list").status_code == 403
    assert not SyncBatch.objects.exists()


def test_messages_are_in_english_when_the_client_asks(staff_api):
    response = staff_api.post(
        BATCH_URL, {"start_date": "2025-10-05", "end_date": "2025-10-01"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.json()["message"] == "The start date must not be after the end date"


def test_retry_counts_the_records_of_a_day_that_failed_midway_only_once(staff_api, sandbox):
    sandbox.faults(records_per_day=5)
    batch_id = start(staff_api, START, START).json()["data"]["batch_id"]

    def purchase_orders_cannot_be_written(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "sync_purchaseorder"'):
            raise DatabaseError("disk full")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(purchase_orders_cannot_be_written):
        batch = run_batch(batch_id)
    assert (batch.status, batch.total_records) == (BatchStatus.FAILED, 5), "the sales orders were written"

    staff_api.post(f"/api/v1/sync-status/batches/{batch_id}/retry")
    batch = run_batch(batch_id)

    assert batch.status == BatchStatus.SUCCESS
    assert batch.total_records == sum(day.records for day in batch.days.all()) == 5 * len(DOCUMENT_SPECS)
