"""Fixtures of the projects tests: the sandbox's project system, reset to a small known size."""

import httpx
import pytest


def forget_flights(count: int = 30) -> None:
    """Flight outcomes live a second in the shared cache (Redis outlives a test's rollback)."""
    from django.core.cache import cache

    cache.delete_many([f"projects:flight:main:P{number:05d}" for number in range(1, count + 1)])


class ProjectRemoteControl:
    """Changes what the sandbox's project system holds, as people at the remote would."""

    def __init__(self, url: str):
        self.url = f"{url}/__sandbox__/projects"

    def control(self, **body) -> dict:
        return httpx.post(self.url, json=body, timeout=10).raise_for_status().json()

    def set_status(self, remote_id: str, status: str) -> dict:
        return self.control(status={remote_id: status})

    def state(self) -> dict:
        return httpx.get(self.url, timeout=10).raise_for_status().json()


@pytest.fixture
def remote(db, sandbox, settings):
    """The sandbox's project system with 30 projects, which this process's client talks to."""
    settings.PROJECTS_SOURCES = {"main": {"url": f"{sandbox.url}/pm-api/v1", "api_key": "yunqiao-sandbox-pm-key"}}
    settings.PROJECTS_REMOTE_TIMEOUT_S = 2.0
    settings.PROJECTS_READ_TIMEOUT_S = 1.0
    # The remote's clock is the sandbox's: no skew to cover, so incremental listings are exact.
    settings.PROJECTS_SYNC_OVERLAP_S = 0
    control = ProjectRemoteControl(sandbox.url)
    control.control(reset=True, count=30)
    control.sandbox = sandbox
    forget_flights()
    return control


@pytest.fixture
def enqueue_in_process(monkeypatch):
    """django-q2 runs queued tasks inline (its own `sync` mode), so a trigger executes at commit."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def synced(remote):
    """The sandbox's 30 projects in the cache, as after the first sync."""
    from projects import sync

    sync.sync_projects(mode="full")
    return remote


@pytest.fixture
def synced_transactional(transactional_db, sandbox, settings):
    """`synced` for tests whose threads need committed rows."""
    from projects import sync

    settings.PROJECTS_SOURCES = {"main": {"url": f"{sandbox.url}/pm-api/v1", "api_key": "yunqiao-sandbox-pm-key"}}
    settings.PROJECTS_REMOTE_TIMEOUT_S = 2.0
    settings.PROJECTS_READ_TIMEOUT_S = 2.0
    control = ProjectRemoteControl(sandbox.url)
    control.control(reset=True, count=30)
    control.sandbox = sandbox
    forget_flights()
    sync.sync_projects(mode="full")
    return control
