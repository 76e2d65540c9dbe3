"""The registry: declaration rules and autodiscovery of `<app>.jobs` modules."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from alerts import registry


def test_system_jobs_are_discovered_from_jobs_modules():
    assert registry.is_registered("cleanup_old_job_runs")
    assert registry.is_registered("expire_overdue_job_runs")
    spec = registry.get_job("cleanup_old_job_runs")
    assert spec.category == "其他"
    assert spec.writes == ("alerts_jobrun",)
    assert spec.dotted_path == "alerts.jobs.cleanup_old_job_runs"


def test_declared_job_keeps_its_metadata_and_function(declare_job):
    @declare_job(
        id="probe_shortage_alerts",
        name="缺料预警生成",
        cron="0 7 * * *",
        category="预警",
        risk="high",
        sla_s=120,
        reads=["material_stock"],
        writes=["alerts"],
        description="每天早上生成缺料预警",
    )
    def probe_shortage_alerts() -> dict:
        return {"created": 3}

    spec = registry.get_job("probe_shortage_alerts")
    assert spec.func() == {"created": 3}
    assert spec.as_dict() | {"function": None} == {
        "id": "probe_shortage_alerts",
        "name": "缺料预警生成",
        "default_cron": "0 7 * * *",
        "category": "预警",
        "risk": "high",
        "sla_s": 120,
        "reads": ["material_stock"],
        "writes": ["alerts"],
        "description": "每天早上生成缺料预警",
        "function": None,
    }


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"cron": "61 * * * *"}, "not a valid cron"),
        ({"cron": "* * * *"}, "five fields"),
        ({"category": "报表"}, "category"),
        ({"risk": "extreme"}, "risk"),
        ({"sla_s": 0}, "sla_s"),
        ({"id": "缺料"}, "job id"),
    ],
)
def test_invalid_declaration_fails_at_import_time(declare_job, meta, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        declare_job(lambda: {}, **meta)


def test_one_id_declared_by_two_functions_is_refused(declare_job):
    @declare_job(id="twice")
    def first() -> dict:
        return {}

    with pytest.raises(ImproperlyConfigured, match="declared twice"):

        @declare_job(id="twice")
        def second() -> dict:
            return {}


def test_cron_from_settings_is_read_when_resolved(declare_job, settings):
    settings.SYNC_NIGHTLY_CRON = "15 2 * * *"
    declare_job(lambda: {}, id="nightly", cron=lambda: settings.SYNC_NIGHTLY_CRON)
    assert registry.get_job("nightly").cron == "15 2 * * *"
    settings.SYNC_NIGHTLY_CRON = "30 1 * * *"
    assert registry.get_job("nightly").cron == "30 1 * * *"
