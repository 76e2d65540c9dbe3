"""A cluster killed with -9 mid-upload: the next cluster to start takes its work back within
seconds (not after UPLOAD_LEASE_S / UPLOAD_PENDING_STALE_S), and every file reaches Yonyou once."""

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import REPO_ROOT, child_env, stop_process, wait_until
from uploads import services
from uploads.models import UploadRecord, UploadStatus


class HeldBroker:
    """Keeps what the test process enqueues: only the clusters of this test work on its rows."""

    def enqueue(self, task):
        pass


def start_cluster(sandbox, queue: str) -> subprocess.Popen:
    env = child_env(
        YONYOU_TOKEN_URL=sandbox.token_url,
        YONYOU_GATEWAY_URL=sandbox.gateway_url,
        Q_CLUSTER_NAME=queue,
        Q_WORKERS="3",
        UPLOAD_LEASE_S="300",
        UPLOAD_PENDING_STALE_S="300",
    )
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "qcluster"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, to kill every process of it at once
    )


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_uploads_of_a_killed_cluster_are_taken_back_by_the_next_one_within_seconds(sandbox, make_records, monkeypatch):
    import django_q.tasks

    monkeypatch.setattr(django_q.tasks, "get_broker", lambda *args, **kwargs: HeldBroker())
    queue = f"restart-{os.getpid()}"
    sandbox.faults(latency_ms=[3000, 3000])
    records = make_records(6)
    ids = [r.pk for r in records]
    # Accepted a while ago, their tasks lost: the first cluster's start dispatches them.
    UploadRecord.objects.filter(pk__in=ids).update(enqueued_at=timezone.now() - timedelta(minutes=1))

    first = start_cluster(sandbox, queue)
    try:
        wait_until(
            lambda: UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.UPLOADING).exists(),
            timeout_s=60,
            message="the first cluster to start uploading",
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # every process of the cluster, as kill -9 would
        first.wait()
    stuck = UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.UPLOADING).count()
    assert stuck >= 1, "the kill left uploads in flight"

    second = start_cluster(sandbox, queue)
    try:
        wait_until(
            lambda: UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.SUCCESS).count() == len(ids),
            timeout_s=60,
            message="the second cluster to deliver every file (its leases are 300 s)",
        )
    finally:
        print(
            list(
                UploadRecord.objects.filter(pk__in=ids).values_list(
                    "status", "error_code", "lease_holder", "next_attempt_at", "attempts"
                )
            )
        )
        stop_process(second, timeout_s=15)

    names = Counter(f["file_name"] for f in sandbox.state()["files"])
    assert set(names) == set(UploadRecord.objects.filter(pk__in=ids).values_list("file_name", flat=True))
    assert set(names.values()) == {1}, "every file in Yonyou exactly once"
    assert services.requeue_stalled_uploads()["recovered_uploading"] == 0


@pytest.mark.django_db
def test_a_task_run_inline_starts_no_heartbeat_in_the_process_that_queued_it(monkeypatch):
    """django-q2's sync mode (tests, debugging) runs the worker-start hook in the calling process:
    a heartbeat started there would outlive its test's database and log "heartbeat failed"."""
    from django_q.conf import Conf
    from django_q.tasks import async_task

    monkeypatch.setattr(Conf, "SYNC", True)
    before = {thread.ident for thread in threading.enumerate()}

    async_task("uploads.tasks.enqueue_uploads", [])

    started = [t.name for t in threading.enumerate() if t.ident not in before and t.name == "upload-heartbeat"]
    assert not started
