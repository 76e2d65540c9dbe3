"""Prometheus exposition: a custom collector over the database, valid for promtool."""

import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerts import prometheus
from alerts.tasks import run_job

pytestmark = pytest.mark.django_db


def samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def some_runs(declare_job):
    outcomes = iter(["ok", "fail", "ok"])

    def job() -> dict:
        if next(outcomes) == "fail":
            raise RuntimeError("down")
        return {}

    declare_job(job, id="probe_job")
    for _ in range(3):
        run_job("probe_job", "schedule")


def test_exposition_has_run_counters_histogram_and_last_success(some_runs):
    found = samples(prometheus.exposition().decode())

    assert found[("yunqiao_job_runs_total", (("job", "probe_job"), ("status", "success")))] == 2
    assert found[("yunqiao_job_runs_total", (("job", "probe_job"), ("status", "failed")))] == 1
    assert found[("yunqiao_job_runs_total", (("job", "probe_job"), ("status", "skipped")))] == 0
    assert found[("yunqiao_job_duration_seconds_count", (("job", "probe_job"),))] == 3
    assert found[("yunqiao_job_duration_seconds_bucket", (("job", "probe_job"), ("le", "+Inf")))] == 3
    assert found[("yunqiao_job_duration_seconds_bucket", (("job", "probe_job"), ("le", "3600.0")))] == 3
    assert found[("yunqiao_job_last_success_timestamp_seconds", (("job", "probe_job"),))] > 1.7e9
    # A job that never succeeded still has its series, at zero.
    assert found[("yunqiao_job_last_success_timestamp_seconds", (("job", "cleanup_old_job_runs"),))] == 0
    assert ("yunqiao_task_queue_size", ()) in found
    assert ("yunqiao_qcluster_workers", ()) in found


def test_runs_over_their_sla_are_counted_as_successes_and_as_sla_exceeded(declare_job):
    import time

    def slow() -> dict:
        time.sleep(0.05)  # the job's own work, longer than its 10 ms SLA
        return {}

    declare_job(slow, id="probe_job", sla_s=0.01)
    run_job("probe_job", "schedule")

    found = samples(prometheus.exposition().decode())

    assert found[("yunqiao_job_runs_total", (("job", "probe_job"), ("status", "success")))] == 1
    assert found[("yunqiao_job_runs_total", (("job", "probe_job"), ("status", "timeout")))] == 0
    assert found[("yunqiao_job_sla_exceeded_total", (("job", "probe_job"),))] == 1
    assert found[("yunqiao_job_sla_exceeded_total", (("job", "cleanup_old_job_runs"),))] == 0
    assert found[("yunqiao_job_last_success_timestamp_seconds", (("job", "probe_job"),))] > 1.7e9


def test_counters_survive_the_cleanup_of_old_runs(some_runs):
    from alerts.models import JobRun

    JobRun.objects.filter(job_id="probe_job").delete()
    found = samples(prometheus.exposition().decode())
    assert found[("yunqiao_job_runs_total", (("job", "probe_job"), ("status", "success")))] == 2


def test_exposition_passes_promtool_check_metrics(some_runs):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package `prometheus`; .ci/run installs it)")
    result = subprocess.run(
        [promtool, "check", "metrics"], input=prometheus.exposition(), capture_output=True, timeout=60
    )
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
    assert not (result.stdout + result.stderr).strip(), (result.stdout + result.stderr).decode()


def test_metrics_endpoint_is_absent_without_a_token(client, settings):
    settings.METRICS_BEARER_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Token s3cret-scrape", "s3cret-scrape", "Bearer "])
def test_metrics_endpoint_refuses_a_missing_or_wrong_token(client, settings, header):
    settings.METRICS_BEARER_TOKEN = "s3cret-scrape"
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_metrics_endpoint_serves_the_exposition_to_the_right_token(client, settings, some_runs):
    settings.METRICS_BEARER_TOKEN = "s3cret-scrape"
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.content.decode())
    assert found[("yunqiao_job_runs_total", (("job", "probe_job"), ("status", "success")))] == 2


def test_exposition_has_upload_and_sync_gauges_from_their_apps():
    import datetime

    from django.utils import timezone

    from sync.models import SyncBatch
    from uploads.models import UploadRecord

    for index, status in enumerate(["failed", "failed", "success"]):
        UploadRecord.objects.create(
            business_id=f"B{index}",
            doc_number=f"SO-{index}",
            doc_type="销售",
            file_name=f"f{index}.jpg",
            file_size=1,
            upload_time=timezone.now(),
            status=status,
            local_file_path=f"/nonexistent/f{index}.jpg",
        )
    SyncBatch.objects.create(
        status="syncing",
        start_date=datetime.date(2025, 10, 1),
        end_date=datetime.date(2025, 10, 4),
        total_days=4,
        processed_days=1,
    )

    found = samples(prometheus.exposition().decode())

    assert found[("yunqiao_uploads", (("status", "failed"),))] == 2
    assert found[("yunqiao_uploads", (("status", "success"),))] == 1
    assert found[("yunqiao_uploads", (("status", "pending"),))] == 0
    assert found[("yunqiao_sync_batch_running", ())] == 1
    assert found[("yunqiao_sync_batch_queued", ())] == 0
    assert found[("yunqiao_sync_batch_progress_ratio", ())] == 0.25


def test_the_scheduler_does_not_import_the_apps_it_serves():
    import ast
    from pathlib import Path

    import alerts

    served = {"uploads", "sync", "projects"}
    offenders = []
    for path in Path(alerts.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in served]
    assert offenders == []


def test_an_app_whose_metrics_fail_leaves_out_only_its_own():
    from prometheus_client.core import GaugeMetricFamily

    @prometheus.app_metrics("probe_broken")
    def broken():
        yield GaugeMetricFamily("yunqiao_probe_partial", "Emitted before the failure.", value=1.0)
        raise RuntimeError("selector down")

    try:
        found = samples(prometheus.exposition().decode())
    finally:
        prometheus.unregister_app_metrics("probe_broken")

    assert ("yunqiao_probe_partial", ()) not in found
    assert ("yunqiao_uploads", (("status", "failed"),)) in found
    assert ("yunqiao_task_queue_size", ()) in found
