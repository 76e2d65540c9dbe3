"""Throughput follows the cap, not the worker count: a worker holding a slot takes the next due
row at once, and one worker fills every free slot with threads, the cap still held."""

from collections import Counter

import pytest

from uploads import tasks
from uploads.models import UploadRecord, UploadSlot, UploadStatus


class HeldBroker:
    """Keeps what is enqueued: only the task the test calls works on its rows."""

    list_key = "held"

    def enqueue(self, task):
        pass


@pytest.fixture
def held_broker(monkeypatch):
    import django_q.tasks

    monkeypatch.setattr(django_q.tasks, "get_broker", lambda *args, **kwargs: HeldBroker())


@pytest.mark.django_db(transaction=True)
def test_one_task_delivers_every_due_row_on_every_slot_and_holds_the_cap(sandbox, make_records, settings, held_broker):
    settings.YONYOU_MAX_CONCURRENCY = 3
    settings.UPLOAD_DRAIN_BUDGET_S = 120
    # Calls long enough that the three slots' first calls overlap even on a loaded machine.
    sandbox.faults(latency_ms=[1500, 1500])
    records = make_records(7)
    ids = [r.pk for r in records]

    assert tasks.upload_record(ids[0]) == UploadStatus.SUCCESS

    assert UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.SUCCESS).count() == len(ids)
    state = sandbox.state()
    names = Counter(f["file_name"] for f in state["files"])
    assert set(names) == {r.file_name for r in records}
    assert set(names.values()) == {1}, "every file in Yonyou exactly once"
    assert state["max_concurrent_uploads"] == 3, "every slot used by one task, and no more"
    assert not UploadSlot.objects.filter(holder_token__isnull=False).exists(), "every slot released"


@pytest.mark.django_db(transaction=True)
def test_a_slot_holder_stops_taking_rows_once_its_budget_is_spent(sandbox, make_records, settings, held_broker):
    settings.YONYOU_MAX_CONCURRENCY = 1
    settings.UPLOAD_DRAIN_BUDGET_S = 0
    records = make_records(3)

    assert tasks.upload_record(records[0].pk) == UploadStatus.SUCCESS

    statuses = dict(UploadRecord.objects.filter(pk__in=[r.pk for r in records]).values_list("pk", "status"))
    assert statuses == {records[0].pk: "success", records[1].pk: "pending", records[2].pk: "pending"}
    # The freed slot was handed on through the broker: the oldest waiting row is marked taken.
    assert UploadRecord.objects.get(pk=records[1].pk).next_attempt_at is None


@pytest.mark.django_db
def test_free_slots_are_taken_in_one_statement_each_with_a_token_of_its_own(settings, django_assert_num_queries):
    from uploads.services.slots import claim_slots, release_slot

    settings.YONYOU_MAX_CONCURRENCY = 4
    assert claim_slots(1), "the slot rows exist"
    with django_assert_num_queries(1):
        tokens = claim_slots(2)
    assert len(tokens) == 2, "as many as asked for, no more"
    tokens += claim_slots(5)

    assert len(tokens) == 3 == len(set(tokens)), "the three free slots, never more than the cap"
    assert claim_slots(1) == []
    release_slot(tokens[0])
    assert UploadSlot.objects.filter(holder_token__isnull=True).count() == 1, "a token frees its own slot only"


@pytest.mark.django_db
def test_the_oldest_due_rows_are_moved_to_uploading_in_one_statement(make_records, django_assert_num_queries):
    from uploads.services.states import begin_attempts

    records = make_records(4)
    UploadRecord.objects.filter(pk=records[0].pk).update(status=UploadStatus.SUCCESS)

    with django_assert_num_queries(1):
        claimed = begin_attempts(limit=2)

    assert [r.pk for r in claimed] == [records[1].pk, records[2].pk]
    rows = UploadRecord.objects.filter(pk__in=[r.pk for r in claimed])
    assert all(r.status == UploadStatus.UPLOADING and r.attempts == 1 and r.lease_token for r in rows)
    assert UploadRecord.objects.get(pk=records[3].pk).status == UploadStatus.PENDING
