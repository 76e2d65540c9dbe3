import logging
import os
import subprocess
import uuid

import pytest
from django.db import DatabaseError, connection, connections
from django_q.conf import Conf

from config import health, supervision


@pytest.fixture
def no_cluster(monkeypatch):
    """Stats under a cluster key nobody publishes: no cluster, whatever else this session started."""
    monkeypatch.setattr(Conf, "Q_STAT", f"django_q:health-test-{uuid.uuid4().hex}:cluster")


@pytest.fixture
def database_down(monkeypatch):
    """A second connection to a database that cannot be opened (SQLite: a missing directory;
    PostgreSQL: a port nobody listens on), used by the probe instead of the working one."""
    settings_dict = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-health-test/yunqiao.sqlite3"
    else:
        settings_dict["PORT"] = 1
    broken = connections["default"].__class__(settings_dict, alias="health-test-down")
    monkeypatch.setattr(health, "connection", broken)
    yield
    broken.close()


@pytest.fixture
def broker_down(monkeypatch):
    """django-q2 pointed at a Redis that is not there (port 1 refuses connections)."""
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")


@pytest.mark.django_db
def test_healthy_parts_answer_200_ok(anon_api, no_cluster):
    response = anon_api.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert "failing" not in body
    assert body["detail"]["database"] == connection.vendor
    assert response["X-Request-ID"]


@pytest.mark.django_db
def test_no_cluster_is_reported_but_requests_are_still_accepted(anon_api, no_cluster):
    response = anon_api.get("/api/health")
    assert response.status_code == 200
    assert response.json()["cluster"] == "down"
    assert response.json()["detail"]["cluster"] == "no cluster running"


@pytest.mark.django_db
def test_an_unreachable_broker_is_named_with_503_and_its_error_only_logged(anon_api, broker_down, caplog):
    with caplog.at_level(logging.ERROR, logger="config.health"):
        response = anon_api.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("error", "ok", "down")
    assert body["failing"] == ["broker"]
    assert body["detail"]["broker"] == health.PROBE_FAILED
    assert "Connection" not in response.content.decode()
    assert "127.0.0.1:1" not in response.content.decode()
    logged = [record for record in caplog.records if record.message == "health: the broker probe failed"]
    assert logged and "Connection" in repr(logged[0].exc_info[1])


@pytest.mark.django_db
def test_an_unreachable_database_is_named_with_503_and_its_error_only_logged(anon_api, database_down, caplog):
    with caplog.at_level(logging.ERROR, logger="config.health"):
        response = anon_api.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("error", "down")
    assert "database" in body["failing"]
    assert body["detail"]["database"] == health.PROBE_FAILED
    assert "nonexistent-health-test" not in response.content.decode()
    assert "OperationalError" not in response.content.decode()
    logged = [record for record in caplog.records if record.message == "health: the database probe failed"]
    assert logged and isinstance(logged[0].exc_info[1], DatabaseError)


@pytest.mark.django_db(transaction=True)
@pytest.mark.cluster
def test_health_sees_a_running_cluster(anon_api, qcluster):
    from tests.conftest import wait_until

    wait_until(lambda: anon_api.get("/api/health").json()["cluster"] == "ok", message="cluster stats")


def _write_status(data_dir, supervisor_pid: int, states: dict[str, str]) -> None:
    supervision.write_status(data_dir, {name: {"state": state} for name, state in states.items()})
    # write_status records its own pid; stand in for another supervisor process
    path = supervision.status_path(data_dir)
    path.write_text(path.read_text().replace(f'"supervisor_pid": {os.getpid()}', f'"supervisor_pid": {supervisor_pid}'))


@pytest.mark.django_db
def test_a_supervised_process_that_keeps_dying_is_named_and_the_host_degraded(anon_api, no_cluster, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    _write_status(tmp_path, os.getpid(), {"web": "running", "worker": "failing", "sandbox": "restarting"})
    response = anon_api.get("/api/health")
    assert response.status_code == 200  # the web answers and work is accepted: not a dead host
    body = response.json()
    assert body["status"] == "degraded"
    assert body["processes"] == {"web": "running", "worker": "failing", "sandbox": "restarting"}
    assert body["failing"] == ["worker", "sandbox"]


@pytest.mark.django_db
def test_no_status_file_or_a_dead_supervisor_means_not_supervised(anon_api, no_cluster, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    assert "processes" not in anon_api.get("/api/health").json()

    gone = subprocess.Popen(["true"])
    gone.wait()
    _write_status(tmp_path, gone.pid, {"worker": "failing"})
    body = anon_api.get("/api/health").json()
    assert "processes" not in body
    assert body["status"] == "ok"
