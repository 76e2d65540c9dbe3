"""Fixtures of the scheduler tests: throwaway jobs declared through the real registry."""

import pytest

from alerts import registry


@pytest.fixture
def declare_job():
    """Declare a job for one test with `@job(...)`, as an app would; it is removed afterwards."""
    declared = []

    def declare(func=None, *, id="probe_job", name="探针任务", cron="*/10 * * * *", category="检查", **meta):
        def register(f):
            registry.job(id=id, name=name, cron=cron, category=category, **meta)(f)
            declared.append(id)
            return f

        return register(func) if func is not None else register

    yield declare
    for job_id in declared:
        registry.unregister(job_id)


@pytest.fixture
def enqueue_in_process(monkeypatch):
    """django-q2 runs queued tasks inline (its own `sync` mode), so a trigger executes at commit."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)
