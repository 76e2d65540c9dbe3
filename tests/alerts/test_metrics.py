"""JSON metrics from the database: counts, last run, and percentiles over the last 1,000 runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import selectors
from alerts.models import JobRun
from alerts.tasks import run_job

pytestmark = pytest.mark.django_db


def finished_runs(job_id: str, durations, *, start=None):
    start = start or timezone.now() - timedelta(days=1)
    JobRun.objects.bulk_create(
        JobRun(
            job_id=job_id,
            trigger="schedule",
            status="success",
            queued_at=start + timedelta(seconds=index),
            started_at=start + timedelta(seconds=index),
            finished_at=start + timedelta(seconds=index, milliseconds=1),
            duration_s=duration,
        )
        for index, duration in enumerate(durations)
    )


def metrics_of(job_id: str) -> dict:
    return next(row for row in selectors.job_metrics() if row["job_id"] == job_id)


def test_percentiles_on_known_durations(declare_job):
    declare_job(lambda: {}, id="probe_job")
    finished_runs("probe_job", [float(n) for n in range(100, 0, -1)])  # 1..100 s, shuffled in time

    summary = metrics_of("probe_job")["duration_s"]

    assert summary == {"count": 100, "avg": 50.5, "p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}


def test_durations_cover_only_the_last_thousand_runs(declare_job):
    declare_job(lambda: {}, id="probe_job")
    long_ago = timezone.now() - timedelta(days=3)
    finished_runs("probe_job", [500.0] * 50, start=long_ago)  # older than the window
    finished_runs("probe_job", [2.0] * 1000)

    summary = metrics_of("probe_job")["duration_s"]

    assert summary["count"] == 1000
    assert summary["max"] == 2.0


def test_counts_and_last_run_come_from_recorded_runs(declare_job):
    outcomes = iter([{}, ValueError("boom"), {}])

    def job() -> dict:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    declare_job(job, id="probe_job")
    for _ in range(3):
        last = run_job("probe_job", "schedule")

    row = metrics_of("probe_job")
    assert (row["runs"], row["successes"], row["failures"], row["timeouts"], row["skipped"]) == (3, 2, 1, 0, 0)
    assert row["sla_exceeded"] == 0
    assert row["last_status"] == "success"
    assert row["last_run_at"] == JobRun.objects.get(pk=last["run_id"]).started_at
    assert row["duration_s"]["count"] == 3


def test_job_without_runs_has_empty_metrics(declare_job):
    declare_job(lambda: {}, id="probe_job")
    row = metrics_of("probe_job")
    assert row["runs"] == 0
    assert row["duration_s"] == {"count": 0, "avg": None, "p50": None, "p95": None, "p99": None, "max": None}


def test_skipped_runs_do_not_count_in_durations(declare_job):
    declare_job(lambda: run_job("probe_job", "schedule") and {}, id="probe_job")
    run_job("probe_job", "schedule")
    row = metrics_of("probe_job")
    assert row["skipped"] == 1
    assert row["duration_s"]["count"] == 1
