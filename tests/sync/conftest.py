"""Fixtures of the sync tests: quick page retries and a driver that runs a batch's day tasks."""

import pytest

from sync import tasks
from sync.models import SyncBatch


@pytest.fixture(autouse=True)
def _fast_sync(settings):
    """No waiting between page attempts; everything else as configured."""
    settings.SYNC_PAGE_RETRY_BASE_S = 0.0


def run_batch(batch_id: int, *, max_steps: int = 200) -> SyncBatch:
    """Run the batch's day tasks synchronously, one after another, until it has finished.

    In production each step enqueues the next on commit; tests call the same task in a loop.
    """
    for _ in range(max_steps):
        batch = SyncBatch.objects.get(pk=batch_id)
        if not batch.is_active:
            return batch
        tasks.sync_batch_step(batch_id)
    raise AssertionError(f"batch {batch_id} still {SyncBatch.objects.get(pk=batch_id).status} after {max_steps} steps")
