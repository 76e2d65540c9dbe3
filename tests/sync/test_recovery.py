"""A batch whose worker died mid-day is resumed from its first unfinished day, without duplicates."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from sync import jobs, services, tasks
from sync.documents import DOCUMENT_SPECS
from sync.models import BatchStatus, SalesOrder, SyncBatch, SyncBatchDay, SyncDay
from tests.sync.conftest import run_batch

START = date(2025, 10, 1)

pytestmark = pytest.mark.django_db


def leave_mid_day(batch_id: int, day: date, *, lease_expired: bool = True) -> None:
    """The rows a worker killed (kill -9) while syncing `day` leaves behind."""
    now = timezone.now()
    long_ago = now - timedelta(hours=1)
    SyncDay.objects.filter(sync_date=day).update(status="syncing", updated_at=long_ago, end_time=None)
    SyncBatchDay.objects.filter(batch_id=batch_id, sync_date=day).update(status="syncing", attempts=1)
    SyncBatch.objects.filter(pk=batch_id).update(
        status="syncing",
        current_date=day,
        lease_expires_at=now - timedelta(minutes=1) if lease_expired else now + timedelta(minutes=5),
        heartbeat_at=long_ago,
    )


def test_a_batch_whose_worker_died_is_resumed_at_the_first_unfinished_day(
    staff_api, sandbox, django_capture_on_commit_callbacks
):
    sandbox.faults(records_per_day=20)
    batch_id = staff_api.post(
        "/api/v1/sync-status/sync/batch",
        {"start_date": str(START), "end_date": str(START + timedelta(days=2))},
        format="json",
    ).json()["data"]["batch_id"]
    tasks.sync_batch_step(batch_id)  # day 1 done
    # Day 2 was being written when the worker died: its documents are partly (here: all) stored.
    services.sync_day(business_date=START + timedelta(days=1))
    leave_mid_day(batch_id, START + timedelta(days=1))
    day1_finished = SyncBatchDay.objects.get(batch_id=batch_id, sync_date=START).finished_at

    with django_capture_on_commit_callbacks() as enqueued:
        summary = jobs.resume_interrupted_batches()

    assert summary == {"resumed": [batch_id]}
    assert len(enqueued) == 1, "one step is enqueued for the batch"
    batch = run_batch(batch_id)
    assert batch.status == BatchStatus.SUCCESS
    assert (batch.processed_days, batch.success_days) == (3, 3)
    assert SyncBatchDay.objects.get(batch_id=batch_id, sync_date=START).finished_at == day1_finished
    assert SyncBatchDay.objects.get(batch_id=batch_id, sync_date=START + timedelta(days=1)).attempts == 2
    assert SalesOrder.objects.count() == 60, "no duplicated documents"
    assert SalesOrder.objects.filter(business_date=START + timedelta(days=1)).count() == 20
    assert SyncDay.objects.get(sync_date=START + timedelta(days=1)).status == "success"


def test_a_resumed_batch_is_enqueued_once_by_repeated_sweeps(staff_api, sandbox, django_capture_on_commit_callbacks):
    batch = services.start_batch(start_date=START, end_date=START + timedelta(days=1))
    leave_mid_day(batch.pk, START)
    with django_capture_on_commit_callbacks() as enqueued:
        assert services.resume_interrupted_batches() == [batch.pk]
        assert services.resume_interrupted_batches() == []
    assert len(enqueued) == 1


def test_a_batch_with_a_live_worker_is_left_alone(sandbox):
    batch = services.start_batch(start_date=START, end_date=START + timedelta(days=1))
    leave_mid_day(batch.pk, START, lease_expired=False)

    assert services.resume_interrupted_batches() == []
    assert tasks.sync_batch_step(batch.pk) == "not_claimed", "a second worker cannot take a leased batch"


def test_a_queued_batch_whose_task_was_lost_is_enqueued_again(sandbox, django_capture_on_commit_callbacks):
    batch = services.start_batch(start_date=START, end_date=START)
    assert services.resume_interrupted_batches() == [], "a fresh batch waits for its task"

    SyncBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks() as enqueued:
        assert services.resume_interrupted_batches() == [batch.pk]
    assert len(enqueued) == 1
    assert run_batch(batch.pk).status == BatchStatus.SUCCESS


def test_finished_batches_are_never_resumed(sandbox):
    batch = run_batch(services.start_batch(start_date=START, end_date=START).pk)
    SyncBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
    assert services.resume_interrupted_batches() == []
    assert tasks.sync_batch_step(batch.pk) == "not_claimed"


def test_a_day_that_finished_just_before_the_crash_is_taken_as_done_not_synced_again(sandbox):
    sandbox.faults(records_per_day=9)
    batch = services.start_batch(start_date=START, end_date=START + timedelta(days=1))
    # The worker started day 1, synced it completely, and died before updating the batch.
    started = timezone.now() - timedelta(minutes=2)
    SyncBatchDay.objects.filter(batch=batch, sync_date=START).update(status="syncing", attempts=1, started_at=started)
    services.sync_day(business_date=START)
    SyncBatch.objects.filter(pk=batch.pk).update(
        status="syncing", lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert services.resume_interrupted_batches() == [batch.pk]
    batch = run_batch(batch.pk)

    assert batch.status == BatchStatus.SUCCESS
    assert (batch.success_days, batch.skipped_days) == (2, 0)
    day1 = batch.days.get(sync_date=START)
    assert day1.records == 9 * len(DOCUMENT_SPECS)
    assert SyncDay.objects.get(sync_date=START).attempts == 1, "not fetched again"
    assert batch.total_records == 2 * 9 * len(DOCUMENT_SPECS)


def test_a_worker_whose_lease_was_taken_over_cannot_record_its_day(sandbox):
    batch = services.start_batch(start_date=START, end_date=START + timedelta(days=1))
    stale_token = services.batches._claim_batch(batch.pk)
    # The worker stalled past its lease; the recovery job resumed the batch with a new worker.
    SyncBatch.objects.filter(pk=batch.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.batches._claim_batch(batch.pk) not in (None, stale_token)
    day = SyncBatchDay.objects.get(batch=batch, sync_date=START)
    late = services.DayResult(sync_date=START, status="success", success_count=99)

    assert services.record_batch_day(batch_id=batch.pk, token=stale_token, day_id=day.pk, result=late) is False

    batch.refresh_from_db()
    assert (batch.processed_days, batch.total_records, batch.success_days) == (0, 0, 0)
    assert SyncBatchDay.objects.get(pk=day.pk).status == "pending"


def test_a_batch_started_while_the_broker_is_down_is_accepted_and_resumed_later(
    staff_api, sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf

    with monkeypatch.context() as broker_down:
        # django-q2 pointed at a Redis that is not there (port 1 refuses connections).
        broker_down.setattr(Conf, "ORM", None)
        broker_down.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_api.post(
                "/api/v1/sync-status/sync/batch", {"start_date": str(START), "end_date": str(START)}, format="json"
            )

    assert response.status_code == 200
    batch = SyncBatch.objects.get(pk=response.json()["data"]["batch_id"])
    assert batch.status == BatchStatus.QUEUED
    assert "Connection" in batch.error_message, "the queueing failure is kept on the batch"
    # The broker is back: the recovery sweep enqueues the batch once its heartbeat is stale.
    SyncBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks() as enqueued:
        assert services.resume_interrupted_batches() == [batch.pk]
    assert len(enqueued) == 1
    batch = run_batch(batch.pk)
    assert (batch.status, batch.error_message) == (BatchStatus.SUCCESS, "")


def test_a_day_whose_worker_died_on_every_attempt_is_failed_with_an_error_and_the_batch_ends(sandbox):
    """A day that kills its worker each time (say it outlasts the task timeout) must not keep the
    batch running, and blocking every other batch, forever."""
    batch = services.start_batch(start_date=START, end_date=START + timedelta(days=1))
    SyncDay.objects.create(sync_date=START)
    leave_mid_day(batch.pk, START)
    SyncBatchDay.objects.filter(batch=batch, sync_date=START).update(attempts=services.MAX_DAY_ATTEMPTS)

    assert services.resume_interrupted_batches() == [batch.pk]
    batch = run_batch(batch.pk)

    assert batch.status == BatchStatus.PARTIAL
    assert (batch.success_days, batch.failed_days) == (1, 1)
    given_up = batch.days.get(sync_date=START)
    assert (given_up.status, given_up.error_code) == ("failed", "worker_lost")
    assert given_up.error_message
    day = SyncDay.objects.get(sync_date=START)
    assert (day.status, day.error_code) == ("failed", "worker_lost")


def test_a_retried_batch_starts_each_days_attempts_afresh(sandbox):
    """After a staff retry, one lost worker is one lost worker, not the last straw of the first run."""
    batch = services.start_batch(start_date=START, end_date=START)
    SyncDay.objects.create(sync_date=START)
    leave_mid_day(batch.pk, START)
    SyncBatchDay.objects.filter(batch=batch, sync_date=START).update(attempts=services.MAX_DAY_ATTEMPTS)
    services.resume_interrupted_batches()
    assert run_batch(batch.pk).status == BatchStatus.FAILED  # given up: worker_lost

    services.retry_batch(batch_id=batch.pk)
    counted_before = batch.days.get().attempts
    leave_mid_day(batch.pk, START)  # the retry's first worker dies mid-day...
    SyncBatchDay.objects.filter(batch=batch).update(attempts=counted_before + 1)  # ...its attempt counted
    services.resume_interrupted_batches()
    batch = run_batch(batch.pk)

    assert (batch.status, batch.success_days, batch.failed_days) == (BatchStatus.SUCCESS, 1, 0)
    assert batch.days.get().attempts == 2
