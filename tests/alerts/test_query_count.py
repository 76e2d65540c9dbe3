"""The scheduler's page, API and exposition make as many queries for 40 jobs as for 4."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts import prometheus, registry, services
from alerts.tasks import run_job

pytestmark = pytest.mark.django_db

READS = [
    "/scheduler/",
    "/api/v1/scheduler/status",
    "/api/v1/scheduler/jobs",
    "/api/v1/scheduler/jobs/cleanup_old_job_runs",
    "/api/v1/scheduler/metrics",
    "/api/v1/scheduler/metrics/prometheus",
]


@pytest.fixture
def declare_jobs_with_runs(declare_job):
    declared = []

    def declare(count: int) -> None:
        for _ in range(count):
            job_id = f"probe_job_{len(declared)}"
            declare_job(lambda: {}, id=job_id)
            declared.append(job_id)
            run_job(job_id, "schedule")
            run_job(job_id, "schedule")
        services.sync_schedules()

    return declare


def queries_of(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(captured)


@pytest.mark.parametrize("path", READS)
def test_reads_make_the_same_number_of_queries_for_any_number_of_jobs(client, staff_user, declare_jobs_with_runs, path):
    client.force_login(staff_user)
    declare_jobs_with_runs(4)
    client.get(path)  # warm the session and permission caches alike for both counts
    few = queries_of(client, path)

    declare_jobs_with_runs(36)
    assert len(registry.all_jobs()) >= 40
    many = queries_of(client, path)

    assert many == few, f"{path}: {few} queries with 4 probe jobs, {many} with 40"


def test_exposition_makes_the_same_number_of_queries_for_any_number_of_jobs(declare_jobs_with_runs):
    declare_jobs_with_runs(4)
    with CaptureQueriesContext(connection) as few:
        prometheus.exposition()
    declare_jobs_with_runs(36)
    with CaptureQueriesContext(connection) as many:
        prometheus.exposition()
    assert len(many) == len(few)


def test_page_builds_the_jobs_overview_once(client, staff_user):
    client.force_login(staff_user)
    client.get("/scheduler/")

    with CaptureQueriesContext(connection) as captured:
        assert client.get("/scheduler/").status_code == 200

    schedule_reads = [query for query in captured if 'FROM "alerts_scheduledjob"' in query["sql"]]
    assert len(schedule_reads) == 1
