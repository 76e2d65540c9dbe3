"""The scheduler API: staff only, the seed's endpoints plus runtime editing."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from alerts import services
from alerts.models import JobRun, ScheduledJob
from alerts.tasks import run_job

pytestmark = pytest.mark.django_db

READ_ENDPOINTS = [
    "/api/v1/scheduler/status",
    "/api/v1/scheduler/jobs",
    "/api/v1/scheduler/jobs/cleanup_old_job_runs",
    "/api/v1/scheduler/jobs/cleanup_old_job_runs/runs",
    "/api/v1/scheduler/metrics",
    "/api/v1/scheduler/metrics/prometheus",
    "/api/v1/scheduler/services/list",
]


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_endpoints_refuse_anonymous_and_non_staff_and_serve_staff(anon_api, field_api, outsider, staff_api, path):
    from rest_framework.test import APIClient

    outsider_api = APIClient()
    outsider_api.force_authenticate(outsider)
    assert anon_api.get(path).status_code == 401
    assert field_api.get(path).status_code == 403
    assert outsider_api.get(path).status_code == 403
    assert staff_api.get(path).status_code == 200


def test_trigger_and_edit_refuse_non_staff(field_api, anon_api):
    for client, expected in ((anon_api, 401), (field_api, 403)):
        assert client.post("/api/v1/scheduler/jobs/cleanup_old_job_runs/trigger").status_code == expected
        assert client.patch("/api/v1/scheduler/jobs/cleanup_old_job_runs", {"enabled": False}).status_code == expected
    assert not JobRun.objects.exists()


def test_jobs_list_shows_schedule_and_last_run(staff_api, declare_job):
    declare_job(lambda: {}, id="probe_job", name="探针任务", cron="0 7 * * *", category="预警")
    services.sync_schedules()
    run_job("probe_job", "schedule")

    jobs = {row["id"]: row for row in staff_api.get("/api/v1/scheduler/jobs").json()}

    job = jobs["probe_job"]
    assert (job["name"], job["cron"], job["category"], job["enabled"]) == ("探针任务", "0 7 * * *", "预警", True)
    assert job["cron_description"] == "每天 07:00"
    assert job["last_status"] == "success"
    assert job["last_run"]["status"] == "success"
    assert job["next_run"] is not None
    assert job["overdue"] is False
    assert job["p95_s"] is not None


def test_trigger_answers_202_with_the_run_id_and_a_worker_runs_it(
    staff_api, staff_user, declare_job, enqueue_in_process, django_capture_on_commit_callbacks
):
    declare_job(lambda: {"checked": 5}, id="probe_job")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post("/api/v1/scheduler/jobs/probe_job/trigger")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert response["Location"].endswith(f"/api/v1/scheduler/runs/{body['run_id']}")
    run = JobRun.objects.get(pk=body["run_id"])
    assert (run.trigger, run.triggered_by, run.status, run.result) == ("manual", staff_user, "success", {"checked": 5})
    assert staff_api.get(f"/api/v1/scheduler/runs/{run.pk}").json()["status"] == "success"


def test_trigger_does_not_run_the_job_in_the_request(staff_api, declare_job):
    calls = []
    declare_job(lambda: calls.append(1) or {}, id="probe_job")

    response = staff_api.post("/api/v1/scheduler/jobs/probe_job/trigger")

    assert response.status_code == 202
    assert calls == []
    assert JobRun.objects.get(pk=response.json()["run_id"]).status == "queued"


def test_trigger_of_unknown_job_is_404(staff_api):
    response = staff_api.post("/api/v1/scheduler/jobs/no_such_job/trigger")
    assert response.status_code == 404
    assert response.json()["status"] == "error"


def test_patch_changes_cron_and_next_run(staff_api, declare_job):
    declare_job(lambda: {}, id="probe_job", cron="*/10 * * * *")
    services.sync_schedules()

    response = staff_api.patch("/api/v1/scheduler/jobs/probe_job", {"cron": "30 6 * * 1"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["cron"], body["cron_edited"], body["cron_description"]) == ("30 6 * * 1", True, "每周一 06:30")
    schedule = ScheduledJob.objects.get(job_id="probe_job").schedule
    next_run = timezone.localtime(schedule.next_run)
    assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 6, 30)


def test_patch_disables_and_enables(staff_api, declare_job):
    declare_job(lambda: {}, id="probe_job")
    services.sync_schedules()

    assert (
        staff_api.patch("/api/v1/scheduler/jobs/probe_job", {"enabled": False}, format="json").json()["enabled"]
        is False
    )
    assert ScheduledJob.objects.get(job_id="probe_job").schedule.repeats == 0
    assert (
        staff_api.patch("/api/v1/scheduler/jobs/probe_job", {"enabled": True}, format="json").json()["enabled"] is True
    )


@pytest.mark.parametrize("cron", ["61 * * * *", "every day", "* * * *", ""])
def test_patch_with_invalid_cron_is_400_with_a_clear_message(staff_api, declare_job, cron):
    declare_job(lambda: {}, id="probe_job", cron="*/10 * * * *")
    services.sync_schedules()

    response = staff_api.patch("/api/v1/scheduler/jobs/probe_job", {"cron": cron}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "cron" in body["message"] and "not a valid" not in body["message"] and "five fields" not in body["message"]
    assert ScheduledJob.objects.get(job_id="probe_job").schedule.cron == "*/10 * * * *"


def test_patch_with_nothing_to_change_is_400(staff_api):
    assert staff_api.patch("/api/v1/scheduler/jobs/cleanup_old_job_runs", {}, format="json").status_code == 400


def schedule_state(job_id: str) -> tuple[str, bool]:
    row = ScheduledJob.objects.select_related("schedule").get(job_id=job_id)
    return row.cron, row.enabled


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("cron=40+3+*+*+*", "application/x-www-form-urlencoded"),
        ("cron=40+3+*+*+*&enabled=", "application/x-www-form-urlencoded"),
        ("", "multipart/form-data; boundary=BoUnDaRy"),
        (
            '--BoUnDaRy\r\nContent-Disposition: form-data; name="cron"\r\n\r\n40 3 * * *\r\n--BoUnDaRy--\r\n',
            "multipart/form-data; boundary=BoUnDaRy",
        ),
        ("cron: 40 3 * * *", "text/plain"),
    ],
)
def test_patch_with_a_body_that_is_not_json_is_415_and_changes_nothing(staff_api, body, content_type):
    services.sync_schedules()
    before = schedule_state("cleanup_old_job_runs")

    response = staff_api.patch("/api/v1/scheduler/jobs/cleanup_old_job_runs", body, content_type=content_type)

    assert response.status_code == 415
    assert "JSON" in response.json()["message"]
    assert "请求体必须是 JSON" in response.json()["message"]
    assert schedule_state("cleanup_old_job_runs") == before == ("40 3 * * *", True)


@pytest.mark.parametrize("body", ["{not json", "[]", '"enabled"', "null"])
def test_patch_with_json_that_is_not_an_object_is_400_and_changes_nothing(staff_api, body):
    services.sync_schedules()

    response = staff_api.patch("/api/v1/scheduler/jobs/cleanup_old_job_runs", body, content_type="application/json")

    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
    assert schedule_state("cleanup_old_job_runs") == ("40 3 * * *", True)


def test_patch_without_a_body_is_400_and_changes_nothing(staff_api):
    services.sync_schedules()

    response = staff_api.generic("PATCH", "/api/v1/scheduler/jobs/cleanup_old_job_runs", content_type=None)

    assert response.status_code == 400
    assert schedule_state("cleanup_old_job_runs") == ("40 3 * * *", True)


def test_patch_leaves_a_field_that_was_not_sent_unchanged(staff_api):
    services.sync_schedules()
    services.update_job_schedule(job_id="cleanup_old_job_runs", enabled=False, user=None)

    response = staff_api.patch("/api/v1/scheduler/jobs/cleanup_old_job_runs", {"cron": "30 4 * * *"}, format="json")
    assert response.status_code == 200
    assert schedule_state("cleanup_old_job_runs") == ("30 4 * * *", False)

    response = staff_api.patch("/api/v1/scheduler/jobs/cleanup_old_job_runs", {"enabled": True}, format="json")
    assert response.status_code == 200
    assert schedule_state("cleanup_old_job_runs") == ("30 4 * * *", True)


def test_runs_are_paged_newest_first_and_filter_by_status(staff_api, declare_job):
    outcomes = iter([True, False, True])

    def job() -> dict:
        if not next(outcomes):
            raise RuntimeError("boom")
        return {}

    declare_job(job, id="probe_job")
    ids = [run_job("probe_job", "schedule")["run_id"] for _ in range(3)]

    page = staff_api.get("/api/v1/scheduler/jobs/probe_job/runs", {"page_size": 2}).json()
    assert page["count"] == 3
    assert [row["id"] for row in page["results"]] == [ids[2], ids[1]]
    assert page["next"]
    failed = staff_api.get("/api/v1/scheduler/jobs/probe_job/runs", {"status": "failed"}).json()
    assert [row["id"] for row in failed["results"]] == [ids[1]]
    assert failed["results"][0]["error"] == "RuntimeError: boom"
    assert staff_api.get("/api/v1/scheduler/jobs/probe_job/runs", {"status": "weird"}).status_code == 400


def test_metrics_endpoint_reports_percentiles(staff_api, declare_job):
    declare_job(lambda: {}, id="probe_job")
    run_job("probe_job", "schedule")
    body = staff_api.get("/api/v1/scheduler/metrics").json()
    assert body["window"] == 1000
    row = next(job for job in body["jobs"] if job["job_id"] == "probe_job")
    assert row["runs"] == row["successes"] == 1
    assert set(row["duration_s"]) == {"count", "avg", "p50", "p95", "p99", "max"}


def test_prometheus_endpoint_serves_text(staff_api):
    response = staff_api.get("/api/v1/scheduler/metrics/prometheus")
    assert response["Content-Type"].startswith("text/plain")
    assert b"# TYPE yunqiao_job_runs_total counter" in response.content


def test_services_list_has_the_registry_metadata(staff_api):
    body = staff_api.get("/api/v1/scheduler/services/list").json()
    cleanup = next(row for row in body["services"] if row["id"] == "cleanup_old_job_runs")
    assert body["count"] == len(body["services"])
    assert cleanup["name"] == "清理过期运行记录"
    assert set(cleanup) >= {"default_cron", "category", "risk", "sla_s", "reads", "writes", "description"}


def test_status_shows_enabled_jobs_next_run_and_missed_schedules(staff_api, declare_job):
    declare_job(lambda: {}, id="probe_job")
    services.sync_schedules()
    # Schedules committed by an earlier test's flush keep their next run, which a long suite leaves
    # in the past; only the probe is overdue here, whatever ran before.
    Schedule.objects.exclude(name="probe_job").update(next_run=timezone.now() + timedelta(hours=1))
    Schedule.objects.filter(name="probe_job").update(next_run=timezone.now() - timedelta(hours=2))

    body = staff_api.get("/api/v1/scheduler/status").json()

    assert body["cluster_alive"] in (True, False)
    assert body["jobs_enabled"] == body["jobs_total"] >= 3
    assert body["next_run"]["job_id"] == "probe_job"  # the earliest due
    assert body["overdue_jobs"] == ["probe_job"]
    assert "queue_size" in body
    job = staff_api.get("/api/v1/scheduler/jobs/probe_job").json()
    assert job["overdue"] is True


def test_a_fractional_sla_is_listed_as_declared(staff_api, declare_job):
    declare_job(lambda: {}, id="probe_job", sla_s=2.5)

    jobs = {row["id"]: row for row in staff_api.get("/api/v1/scheduler/jobs").json()}

    assert jobs["probe_job"]["sla_s"] == 2.5
