"""The sync app's scheduled jobs: the nightly sync of yesterday and the batch recovery sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import registry
from sync import jobs, services
from sync.documents import DOCUMENT_SPECS
from sync.models import SalesOrder, SyncBatch, SyncDay
from tests.sync.conftest import run_batch


def test_the_jobs_are_registered_with_the_nightly_cron_from_settings(settings):
    settings.SYNC_NIGHTLY_CRON = "30 2 * * *"
    assert registry.get_job("sync_yesterday").cron == "30 2 * * *"
    assert registry.get_job("sync_yesterday").func is jobs.sync_yesterday
    assert registry.get_job("resume_interrupted_batches").func is jobs.resume_interrupted_batches


@pytest.mark.django_db
def test_the_nightly_job_syncs_yesterday_even_if_it_was_synced_before(sandbox):
    sandbox.faults(records_per_day=7)
    yesterday = timezone.localdate() - timedelta(days=1)

    first = jobs.sync_yesterday()
    second = jobs.sync_yesterday()

    assert first == {
        "date": yesterday.isoformat(),
        "status": "success",
        "batch_id": first["batch_id"],
        "records": 7 * len(DOCUMENT_SPECS),
        "failed_records": 0,
        "next_attempt_at": None,
        "error": "",
    }
    assert second["status"] == "success"
    assert SyncBatch.objects.get(pk=first["batch_id"]).trigger == "nightly"
    assert SyncDay.objects.get(sync_date=yesterday).attempts == 2
    assert SalesOrder.objects.filter(business_date=yesterday).count() == 7


@pytest.mark.django_db
def test_the_nightly_job_fails_loudly_when_yesterday_cannot_be_synced(sandbox):
    yesterday = timezone.localdate() - timedelta(days=1)
    sandbox.faults(fail_status=401, fail_next=1000)  # credentials refused: nothing to wait for

    with pytest.raises(services.NightlySyncFailed, match="http_401"):
        jobs.sync_yesterday()

    assert SyncDay.objects.get(sync_date=yesterday).status == "failed"


@pytest.mark.django_db
def test_the_nightly_job_rides_out_a_brief_outage_with_the_batch_retries(sandbox, settings, staff_api):
    settings.SYNC_DAY_RETRY_HORIZON_S = 1800
    yesterday = timezone.localdate() - timedelta(days=1)
    # A staff batch is running: the nightly sync runs beside it, not refused.
    staff_batch = services.start_batch(start_date=yesterday - timedelta(days=3), end_date=yesterday - timedelta(days=3))
    sandbox.faults(records_per_day=7, fail_status=503, fail_next=settings.SYNC_PAGE_ATTEMPTS)

    run = jobs.sync_yesterday()

    assert run["status"] == "retrying" and run["next_attempt_at"]
    assert "503" in run["error"]
    batch = run_batch(run["batch_id"])
    assert batch.status == "success"
    assert batch.days.get().attempts == 2
    assert SalesOrder.objects.filter(business_date=yesterday).count() == len(
        sandbox.documents("sales_order", yesterday)
    )
    assert SyncBatch.objects.get(pk=staff_batch.pk).status == "queued"
