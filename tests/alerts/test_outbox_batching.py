"""The rows one transaction writes reach the broker together at its commit: a broker call costs
20–35 ms, and a project sync page announcing many status changes must not pay it per row."""

import pytest
from django.db import transaction
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from alerts.outbox import Channel, Notification, enqueue_notification

pytestmark = pytest.mark.django_db


def enqueue(key: str):
    return enqueue_notification(
        channel=Channel.EMAIL,
        address=f"{key}@example.com",
        title="项目状态变更",
        text="进行中 → 已完成",
        idempotency_key=key,
    )


def queued_batches(broker) -> list[list[int]]:
    """The delivery tasks waiting in the broker (ORM or Redis), as their lists of row ids."""
    batches = []
    for _ack, payload in broker.dequeue() or []:
        task = SignedPackage.loads(payload)
        if task["func"] == "alerts.tasks.deliver_notifications":
            batches.append(list(task["args"][0]))
    return batches


def drain(broker) -> list[list[int]]:
    batches = []
    while broker.queue_size():
        batches += queued_batches(broker)
    return batches


def test_a_transaction_writing_45_rows_makes_3_broker_calls_at_commit(settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_DELIVERY_BATCH = 20
    broker = get_broker()
    drain(broker)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        rows = [enqueue(f"k{n}") for n in range(45)]
        assert broker.queue_size() == 0  # nothing before the commit
    assert len(callbacks) == 1
    batches = drain(broker)
    assert [len(batch) for batch in batches] == [20, 20, 5]
    assert sorted(pk for batch in batches for pk in batch) == sorted(row.pk for row in rows)


def test_rows_written_around_a_rolled_back_savepoint_still_go(settings, django_capture_on_commit_callbacks):
    settings.NOTIFY_DELIVERY_BATCH = 20
    broker = get_broker()
    drain(broker)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue("inside")  # the batch's callback is registered in this savepoint …
            raise RuntimeError
        before = enqueue("after")  # … and is registered again, with what came before
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        first = enqueue("first")
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue("rolled-back")
            raise RuntimeError
        last = enqueue("last")
    queued = {pk for batch in drain(broker) for pk in batch}
    assert {before.pk, first.pk, last.pk} <= queued
    assert set(Notification.objects.values_list("idempotency_key", flat=True)) == {"after", "first", "last"}
