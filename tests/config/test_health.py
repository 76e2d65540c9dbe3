import pytest
from django_q.conf import Conf


@pytest.mark.django_db
def test_health_is_public_and_reports_each_part(anon_api):
    response = anon_api.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["cluster"] in ("ok", "down")
    assert response["X-Request-ID"]


@pytest.mark.django_db
def test_health_names_an_unreachable_broker_and_answers_503(anon_api, monkeypatch):
    # Point django-q2 at a Redis that is not there (port 1 refuses connections).
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")
    response = anon_api.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["broker"] == "down"
    assert body["database"] == "ok"
    assert body["failing"] == ["broker"]
    assert "Connection" in body["detail"]["broker"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.cluster
def test_health_sees_a_running_cluster(anon_api, qcluster):
    from tests.conftest import wait_until

    wait_until(lambda: anon_api.get("/api/health").json()["cluster"] == "ok", message="cluster stats")
