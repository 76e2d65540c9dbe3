"""Registration of the registry into django-q2 schedules: idempotent, and staff edits survive."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from alerts import registry, services
from alerts.models import ScheduledJob

pytestmark = pytest.mark.django_db


def schedule_of(job_id: str) -> Schedule:
    return ScheduledJob.objects.select_related("schedule").get(job_id=job_id).schedule


def test_every_registered_job_gets_a_cron_schedule_pointing_at_the_run_task(declare_job):
    declare_job(lambda: {}, id="probe_job", cron="0 7 * * *")
    # One second before a fire time: reading the clock here would race the 07:00 boundary.
    now = timezone.make_aware(datetime.datetime(2026, 3, 10, 6, 59, 59))
    services.sync_schedules(now=now)

    for spec in registry.all_jobs():
        schedule = schedule_of(spec.id)
        assert schedule.func == "alerts.tasks.run_job"
        assert schedule.schedule_type == Schedule.CRON
        assert schedule.cron == spec.cron
        assert schedule.repeats == -1
    # 07:00 Asia/Shanghai, the same day.
    assert schedule_of("probe_job").next_run == timezone.make_aware(datetime.datetime(2026, 3, 10, 7, 0))


def test_registration_twice_changes_nothing(declare_job):
    declare_job(lambda: {})
    services.sync_schedules()
    before = list(Schedule.objects.order_by("pk").values())

    report = services.sync_schedules()

    assert report.as_dict() == {
        "created": [],
        "default_updated": [],
        "kept_edited": [],
        "disabled_removed": [],
        "re_enabled": [],
    }
    assert list(Schedule.objects.order_by("pk").values()) == before


def test_staff_cron_and_disable_survive_registration(declare_job, staff_user):
    declare_job(lambda: {}, id="probe_job", cron="*/10 * * * *")
    services.sync_schedules()
    services.update_job_schedule(job_id="probe_job", cron="5 6 * * 1-5", enabled=False, user=staff_user)

    report = services.sync_schedules()
    call_command("sync_jobs", stdout=StringIO())

    schedule = schedule_of("probe_job")
    assert schedule.cron == "5 6 * * 1-5"
    assert schedule.repeats == 0
    assert report.kept_edited == ["probe_job"]
    assert ScheduledJob.objects.get(job_id="probe_job").edited_by == staff_user


def test_new_default_in_code_replaces_only_an_unedited_cron(declare_job):
    declare_job(lambda: {}, id="probe_job", cron="*/10 * * * *")
    declare_job(lambda: {}, id="edited_job", cron="*/10 * * * *")
    services.sync_schedules()
    services.update_job_schedule(job_id="edited_job", cron="0 9 * * *")

    registry.unregister("probe_job")
    registry.unregister("edited_job")
    declare_job(lambda: {}, id="probe_job", cron="0 3 * * *")
    declare_job(lambda: {}, id="edited_job", cron="0 3 * * *")
    report = services.sync_schedules()

    assert schedule_of("probe_job").cron == "0 3 * * *"
    assert schedule_of("edited_job").cron == "0 9 * * *"
    assert report.default_updated == ["probe_job"]
    assert report.kept_edited == ["edited_job"]


def test_job_removed_from_code_is_disabled_and_comes_back_enabled(declare_job):
    declare_job(lambda: {}, id="probe_job")
    services.sync_schedules()

    registry.unregister("probe_job")
    assert services.sync_schedules().disabled_removed == ["probe_job"]
    assert schedule_of("probe_job").repeats == 0
    assert ScheduledJob.objects.get(job_id="probe_job").in_registry is False

    declare_job(lambda: {}, id="probe_job")
    assert services.sync_schedules().re_enabled == ["probe_job"]
    assert schedule_of("probe_job").repeats == -1


def test_job_disabled_by_staff_stays_disabled_when_its_code_comes_back(declare_job):
    declare_job(lambda: {}, id="probe_job")
    services.sync_schedules()
    services.update_job_schedule(job_id="probe_job", enabled=False)
    registry.unregister("probe_job")
    services.sync_schedules()

    declare_job(lambda: {}, id="probe_job")
    services.sync_schedules()

    assert schedule_of("probe_job").repeats == 0


def test_schedule_deleted_in_the_admin_is_recreated(declare_job):
    declare_job(lambda: {}, id="probe_job", cron="0 8 * * *")
    services.sync_schedules()
    schedule_of("probe_job").delete()

    assert services.sync_schedules().created == ["probe_job"]
    assert schedule_of("probe_job").cron == "0 8 * * *"


def test_migrate_registers_the_system_jobs():
    # The test database was created by `migrate`, whose post_migrate signal registered the jobs.
    assert schedule_of("cleanup_old_job_runs").cron == "40 3 * * *"


def test_run_job_command_runs_in_process_and_fails_loudly(declare_job):
    from django.core.management.base import CommandError

    from alerts.models import JobRun

    declare_job(lambda: {"checked": 1}, id="probe_job")
    out = StringIO()
    call_command("run_job", "probe_job", stdout=out)
    assert "success" in out.getvalue()
    assert JobRun.objects.get(job_id="probe_job").trigger == "manual"

    def broken() -> dict:
        raise RuntimeError("boom")

    declare_job(broken, id="broken_job")
    with pytest.raises(CommandError, match="failed"):
        call_command("run_job", "broken_job", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="unknown job"):
        call_command("run_job", "no_such_job")
