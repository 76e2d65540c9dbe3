"""The sync app's scheduled jobs: the nightly sync of yesterday and the batch recovery sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import registry
from sync import jobs, services
from sync.models import SalesOrder, SyncDay


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
        "records": second["records"],
        "failed_records": 0,
        "error": "",
    }
    assert second["status"] == "success"
    assert SyncDay.objects.get(sync_date=yesterday).attempts == 2
    assert SalesOrder.objects.filter(business_date=yesterday).count() == 7


@pytest.mark.django_db
def test_the_nightly_job_fails_loudly_when_yesterday_cannot_be_synced(sandbox):
    yesterday = timezone.localdate() - timedelta(days=1)
    sandbox.faults(fail_dates=[yesterday.isoformat()])

    with pytest.raises(services.NightlySyncFailed, match="http_500"):
        jobs.sync_yesterday()

    assert SyncDay.objects.get(sync_date=yesterday).status == "failed"
