"""Fixtures of the sync tests: quick page retries and a driver that runs a batch's day tasks."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from sync import tasks
from sync.models import SyncBatch, SyncBatchDay


@pytest.fixture(autouse=True)
def _fast_sync(settings):
    """No waiting between page attempts, and a failed day is not tried again later (a test of
    those retries sets a horizon and lets `run_batch` pass the time); everything else as configured."""
    settings.SYNC_PAGE_RETRY_BASE_S = 0.0
    settings.SYNC_DAY_RETRY_HORIZON_S = 0


def run_batch(batch_id: int, *, max_steps: int = 200) -> SyncBatch:
    """Run the batch's day tasks synchronously, one after another, until it has finished.

    In production each step enqueues the next on commit (or wakes at a day's next attempt); tests
    call the same task in a loop and, when the batch waits for a retry, pass the time to it.
    """
    for _ in range(max_steps):
        batch = SyncBatch.objects.get(pk=batch_id)
        if not batch.is_active:
            return batch
        if tasks.sync_batch_step(batch_id) == "waiting":
            pass_time_to_next_attempt(batch_id)
    raise AssertionError(f"batch {batch_id} still {SyncBatch.objects.get(pk=batch_id).status} after {max_steps} steps")


def pass_time_to_next_attempt(batch_id: int) -> timedelta:
    """Move the clock, as the batch sees it, to its next attempt: every time it is waiting for
    (the lease it keeps closed, each day's next attempt and the end of its retry horizon) comes
    that much closer. Returns the time passed."""
    batch = SyncBatch.objects.get(pk=batch_id)
    waits_until = batch.lease_expires_at or timezone.now()
    passed = max(waits_until - timezone.now(), timedelta(0)) + timedelta(milliseconds=1)
    SyncBatch.objects.filter(pk=batch_id, lease_expires_at__isnull=False).update(
        lease_expires_at=F("lease_expires_at") - passed
    )
    days = SyncBatchDay.objects.filter(batch_id=batch_id, status="retrying")
    days.update(next_attempt_at=F("next_attempt_at") - passed, retry_until=F("retry_until") - passed)
    return passed
