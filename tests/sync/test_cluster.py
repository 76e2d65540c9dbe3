"""End to end: a batch started over HTTP runs day by day in a real django-q2 cluster."""

import pytest

from sync.models import SalesOrder, SyncBatch
from tests.conftest import wait_until


@pytest.mark.django_db(transaction=True)
@pytest.mark.cluster
def test_a_batch_runs_to_the_end_in_a_real_cluster_one_task_per_day(qcluster, staff_api, sandbox):
    # A permanent failure (the cluster retries transient ones for SYNC_DAY_RETRY_HORIZON_S).
    sandbox.faults(records_per_day=120, fail_dates=["2025-10-03"], fail_dates_status=400)

    response = staff_api.post(
        "/api/v1/sync-status/sync/batch", {"start_date": "2025-10-01", "end_date": "2025-10-04"}, format="json"
    )
    assert response.status_code == 200
    batch_id = response.json()["data"]["batch_id"]

    def finished():
        batch = SyncBatch.objects.get(pk=batch_id)
        return None if batch.is_active else batch

    batch = wait_until(finished, timeout_s=60, message="the batch to finish in the cluster")
    assert batch.status == "partial"
    assert (batch.success_days, batch.failed_days, batch.processed_days) == (3, 1, 4)
    assert SalesOrder.objects.count() == 360
    progress = staff_api.get(f"/api/v1/sync-status/batches/{batch_id}").json()["data"]
    assert progress["percent"] == 100.0
    assert [day["status"] for day in progress["days"]] == ["success", "success", "failed", "success"]
