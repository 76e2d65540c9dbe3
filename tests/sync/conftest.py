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


def records_of(sandbox, doc_type: str, day, *, page_size: int = 500) -> list[dict]:
    """What the remote serves for one type and day, read through our client (the remote's truth)."""
    from yonyou.client import get_client

    client = get_client()
    first = client.list_documents(doc_type=doc_type, business_date=day, page_index=1, page_size=page_size)
    records = list(first.records)
    for index in range(2, first.page_count + 1):
        records += client.list_documents(
            doc_type=doc_type, business_date=day, page_index=index, page_size=page_size
        ).records
    return records
