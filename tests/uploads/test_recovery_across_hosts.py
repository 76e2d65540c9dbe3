"""A cluster on one host killed with -9 while 100 uploads are in flight against a slow, failing
Yonyou (issue 10's crash goal): a cluster on another host, which cannot check the dead one's pids,
notices its heartbeat stopped and takes its uploads and slots back, long before their leases
(300 s) would, and every file reaches Yonyou exactly once. How long that takes is measured by
`bench/upload_drain.py --recovery`, not asserted here."""

import os
import signal
import subprocess
import sys
from collections import Counter

import pytest
from django.utils import timezone

from tests.conftest import REPO_ROOT, child_env, stop_process, wait_until
from uploads import services
from uploads.models import UploadRecord, UploadStatus, WorkerHeartbeat

FILES = 100
# Every call takes this long, and a run of calls is refused (503) before and after the kill: slow
# and failing, by count rather than by chance.
LATENCY_MS = 400
REFUSED_CALLS = 6


class HeldBroker:
    """Keeps what the test process enqueues: only the clusters of this test work on its rows."""

    list_key = "held"

    def enqueue(self, task):
        pass


def start_cluster(sandbox, queue: str, host: str) -> subprocess.Popen:
    env = child_env(
        YONYOU_TOKEN_URL=sandbox.token_url,
        YONYOU_GATEWAY_URL=sandbox.gateway_url,
        Q_CLUSTER_NAME=queue,
        Q_WORKERS="2",
        YONYOU_MAX_CONCURRENCY="3",
        UPLOAD_WORKER_HOST=host,
        UPLOAD_HEARTBEAT_S="0.5",
        UPLOAD_HEARTBEAT_DEAD_S="3",
        UPLOAD_LEASE_S="300",
        UPLOAD_PENDING_STALE_S="300",
        UPLOAD_RETRY_BASE_S="1",
        UPLOAD_RETRY_MAX_S="2",
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
@pytest.mark.timeout(420)  # two clusters, 100 files, on a loaded CI machine
@pytest.mark.django_db(transaction=True)
def test_uploads_of_a_cluster_killed_on_another_host_are_taken_back_by_heartbeat(sandbox, make_records, monkeypatch):
    import django_q.tasks

    monkeypatch.setattr(django_q.tasks, "get_broker", lambda *args, **kwargs: HeldBroker())
    queue = f"hosts-{os.getpid()}"
    # Slow, and failing: the first calls are refused (503) and retried after a backoff.
    sandbox.faults(latency_ms=[LATENCY_MS, LATENCY_MS], fail_next=REFUSED_CALLS)
    records = [record for _request in range(FILES // 10) for record in make_records(10)]
    ids = [r.pk for r in records]
    # Due at once: the first cluster's start dispatches them all.
    UploadRecord.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())

    first = start_cluster(sandbox, queue, host="host-a")
    try:
        wait_until(
            lambda: (
                UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.SUCCESS).count() >= 3
                and UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.UPLOADING).exists()
                and WorkerHeartbeat.objects.filter(holder__startswith="host-a:").exists()
            ),
            timeout_s=120,
            message="the first cluster to deliver some files and have others in flight",
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # every process of the cluster, as kill -9 would
        first.wait()
    in_flight = UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.UPLOADING).count()
    assert in_flight >= 1, "the kill left uploads in flight"
    assert UploadRecord.objects.filter(pk__in=ids).exclude(status=UploadStatus.SUCCESS).count() > in_flight
    # The other host meets a failing Yonyou too: its first calls after the restart are refused.
    sandbox.faults(fail_next=REFUSED_CALLS)

    second = start_cluster(sandbox, queue, host="host-b")
    try:
        wait_until(
            lambda: UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.SUCCESS).count() == FILES,
            timeout_s=240,
            interval_s=0.5,
            message="the cluster on the other host to deliver every file (the dead one's leases are 300 s)",
        )
    finally:
        stop_process(second, timeout_s=15)

    names = Counter(f["file_name"] for f in sandbox.state()["files"])
    assert set(names) == {r.file_name for r in records}
    assert set(names.values()) == {1}, "every file in Yonyou exactly once"
    assert not UploadRecord.objects.filter(pk__in=ids, status=UploadStatus.UPLOADING).exists()
    assert services.requeue_stalled_uploads()["recovered_uploading"] == 0
    assert not WorkerHeartbeat.objects.filter(holder__startswith="host-a:").exists(), "the dead were forgotten"
