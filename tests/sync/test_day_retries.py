"""A batch rides out a brief ERP outage: transient day failures are tried again with backoff
within the day's horizon, permanent ones fail at once, and no day is stored twice.

The outages are deterministic (the sandbox fails its next N gateway calls), and time passes by
`run_batch` moving the batch's own clock to its next attempt: nothing here waits on the wall clock.
"""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from sync import services, tasks
from sync.documents import DOCUMENT_SPECS
from sync.models import BatchStatus, SyncBatch, SyncDay
from sync.services.retries import retry_delay_s
from tests.sync.conftest import pass_time_to_next_attempt, run_batch

START = date(2025, 10, 1)
DAYS = [START, START + timedelta(days=1), START + timedelta(days=2)]
BATCH_URL = "/api/v1/sync-status/batches/{}"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _horizon(settings):
    settings.SYNC_DAY_RETRY_HORIZON_S = 1800  # the default: 30 minutes


def assert_every_day_stored_once(sandbox):
    """Each table holds exactly what the sandbox serves for the batch's days, row for row."""
    for spec in DOCUMENT_SPECS:
        served = sorted((r["code"], r["id"]) for day in DAYS for r in sandbox.documents(spec.doc_type, day))
        assert sorted(spec.model.objects.values_list("code", "remote_id")) == served, spec.doc_type


def test_an_outage_shorter_than_the_horizon_ends_in_success_after_more_attempts(staff_api, sandbox, settings):
    sandbox.faults(records_per_day=12)
    # The first two days' first attempts each meet an outage as long as their page retries.
    sandbox.faults(fail_status=503, fail_next=2 * settings.SYNC_PAGE_ATTEMPTS)
    batch = services.start_batch(start_date=DAYS[0], end_date=DAYS[-1])

    assert tasks.sync_batch_step(batch.pk) == "retrying"  # day 1: transient, waits
    assert tasks.sync_batch_step(batch.pk) == "retrying"  # day 2: the same; the batch goes on
    assert tasks.sync_batch_step(batch.pk) == "success"  # day 3: the gateway is back
    assert tasks.sync_batch_step(batch.pk) == "waiting"  # days 1 and 2 are not due yet

    detail = staff_api.get(BATCH_URL.format(batch.pk)).json()["data"]
    assert (detail["status"], detail["is_active"], detail["processed_days"]) == ("syncing", True, 1)
    waiting = detail["days"][0]
    assert waiting["status"] == "retrying"
    assert waiting["status_display"] == "等待重试"
    assert waiting["attempts"] == 1
    assert waiting["error_code"] == "http_503"
    assert waiting["next_attempt_at"] and waiting["retry_until"]
    assert "将于" in waiting["retry_note"] and "http_503" in waiting["retry_note"]
    assert (
        staff_api.post(
            "/api/v1/sync-status/sync/batch", {"start_date": "2025-10-05", "end_date": "2025-10-05"}, format="json"
        ).status_code
        == 409
    ), "a waiting batch is still the running one"

    pass_time_to_next_attempt(batch.pk)
    batch = run_batch(batch.pk)

    assert batch.status == BatchStatus.SUCCESS
    assert (batch.processed_days, batch.success_days, batch.failed_days) == (3, 3, 0)
    assert list(batch.days.values_list("attempts", flat=True)) == [2, 2, 1]
    assert list(batch.days.values_list("error_code", flat=True)) == ["", "", ""]
    assert batch.total_records == 3 * 12 * len(DOCUMENT_SPECS), "a retried day's records are counted once"
    assert_every_day_stored_once(sandbox)


def test_an_outage_longer_than_the_horizon_fails_the_days_with_the_last_error(staff_api, sandbox):
    sandbox.faults(records_per_day=3, fail_status=503, fail_next=1_000_000)
    batch = services.start_batch(start_date=DAYS[0], end_date=DAYS[0])
    assert tasks.sync_batch_step(batch.pk) == "retrying"
    sandbox.faults(fail_status=502)  # the outage goes on, differently

    batch = run_batch(batch.pk)

    assert batch.status == BatchStatus.FAILED
    day = batch.days.get()
    assert (day.status, day.error_code) == ("failed", "http_502")
    assert "502" in day.error_message and "502" in batch.error_message
    assert day.attempts > 2
    assert day.next_attempt_at is None
    assert SyncDay.objects.get(sync_date=DAYS[0]).error_code == "http_502"

    sandbox.faults(fail_next=0)
    retried = staff_api.post(BATCH_URL.format(batch.pk) + "/retry").json()["data"]
    assert retried["status"] == "queued"
    day.refresh_from_db()
    assert (day.attempts, day.next_attempt_at, day.retry_until) == (0, None, None), "a staff retry starts afresh"
    batch = run_batch(batch.pk)
    assert (batch.status, batch.days.get().attempts) == (BatchStatus.SUCCESS, 1)


def test_credentials_refused_fail_the_day_at_its_first_attempt(sandbox):
    sandbox.faults(fail_status=401, fail_next=1_000_000)
    batch = run_batch(services.start_batch(start_date=DAYS[0], end_date=DAYS[1]).pk)

    assert batch.status == BatchStatus.FAILED
    assert list(batch.days.values_list("status", "attempts", "error_code")) == [("failed", 1, "http_401")] * 2
    assert sandbox.state()["requests"]["list_sales_order"] == 2, "one call per day, none retried"


def test_cancel_stops_a_batch_waiting_to_retry_at_once(staff_api, sandbox, settings):
    sandbox.faults(fail_status=503, fail_next=settings.SYNC_PAGE_ATTEMPTS)
    batch = services.start_batch(start_date=DAYS[0], end_date=DAYS[0])
    tasks.sync_batch_step(batch.pk)
    assert tasks.sync_batch_step(batch.pk) == "waiting"

    response = staff_api.post(BATCH_URL.format(batch.pk) + "/cancel")

    assert response.json()["data"]["status"] == "cancelled"
    assert SyncBatch.objects.get(pk=batch.pk).days.get().status == "cancelled"
    pass_time_to_next_attempt(batch.pk)
    assert tasks.sync_batch_step(batch.pk) == "not_claimed", "the wake-up finds nothing to do"


def test_the_wait_is_kept_closed_until_the_next_attempt_and_then_resumed_by_the_sweep(sandbox, settings):
    sandbox.faults(fail_status=503, fail_next=settings.SYNC_PAGE_ATTEMPTS)
    batch = services.start_batch(start_date=DAYS[0], end_date=DAYS[0])
    tasks.sync_batch_step(batch.pk)
    assert tasks.sync_batch_step(batch.pk) == "waiting"
    assert tasks.sync_batch_step(batch.pk) == "not_claimed", "an early wake-up leaves the wait alone"
    assert services.resume_interrupted_batches() == [], "a waiting batch is not an interrupted one"

    pass_time_to_next_attempt(batch.pk)  # the scheduled wake-up was lost: the sweep resumes it

    assert services.resume_interrupted_batches() == [batch.pk]
    assert run_batch(batch.pk).status == BatchStatus.SUCCESS


def test_backoff_doubles_with_jitter_up_to_the_maximum_and_honours_retry_after(settings):
    settings.SYNC_DAY_RETRY_BASE_S = 5
    settings.SYNC_DAY_RETRY_MAX_S = 300
    for attempt, ceiling in [(1, 5), (2, 10), (3, 20), (6, 160), (7, 300), (30, 300)]:
        delays = {retry_delay_s(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays), (attempt, delays)
        assert len(delays) > 1, "jittered"
    assert retry_delay_s(1, retry_after=120) == 120


def test_the_next_attempt_never_passes_the_end_of_the_horizon(sandbox, settings):
    settings.SYNC_DAY_RETRY_BASE_S = 600
    settings.SYNC_DAY_RETRY_HORIZON_S = 60
    sandbox.faults(fail_status=503, fail_next=settings.SYNC_PAGE_ATTEMPTS)
    batch = services.start_batch(start_date=DAYS[0], end_date=DAYS[0])
    tasks.sync_batch_step(batch.pk)

    day = batch.days.get()
    assert day.status == "retrying"
    assert day.next_attempt_at == day.retry_until
    assert day.retry_until <= timezone.now() + timedelta(seconds=60)
