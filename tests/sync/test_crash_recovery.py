"""A real crash: the cluster running a batch is killed with SIGKILL mid-batch, the recovery job
runs, a new cluster finishes the batch from its first unfinished day, and no document is doubled."""

import os
import signal
import subprocess
import sys
from datetime import date

import pytest

from sync.documents import DOCUMENT_SPECS
from sync.models import ACTIVE_BATCH_STATUSES, SalesOrder, SyncBatch
from tests.conftest import REPO_ROOT, child_env, wait_until

DAYS = 6
PER_DAY = 50
# Its own queue, so that the session's qcluster (if another test started it) takes no part.
QUEUE = "yunqiao-sync-crash"


def start_cluster(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "qcluster"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: SIGKILL reaches every worker at once
    )


def in_child(env: dict, code: str) -> str:
    """Run Python in a manage.py shell with `env`: tasks it enqueues go to (and are signed for)
    the test's own queue."""
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "shell", "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def stop_cluster(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.django_db(transaction=True)
@pytest.mark.cluster
def test_a_batch_killed_mid_way_is_resumed_by_the_recovery_job_without_duplicates(sandbox):
    # Slow enough (6 types x 250 ms per day) that the kill lands mid-batch.
    sandbox.faults(records_per_day=PER_DAY, latency_ms=[250, 250])
    env = child_env(
        Q_CLUSTER_NAME=QUEUE,
        SYNC_LEASE_S="3",
        YONYOU_TOKEN_URL=sandbox.token_url,
        YONYOU_GATEWAY_URL=sandbox.gateway_url,
    )
    out = in_child(
        env,
        "from datetime import date; from sync import services; "
        f"print(services.start_batch(start_date=date(2025, 10, 1), end_date=date(2025, 10, {DAYS})).pk)",
    )
    batch = SyncBatch.objects.get(pk=int(out.strip().splitlines()[-1]))

    first = start_cluster(env)
    try:
        wait_until(
            lambda: SyncBatch.objects.get(pk=batch.pk).processed_days >= 2,
            timeout_s=60,
            message="two days synced by the first cluster",
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        stop_cluster(first)

    interrupted = SyncBatch.objects.get(pk=batch.pk)
    assert interrupted.status in ACTIVE_BATCH_STATUSES
    assert interrupted.processed_days < DAYS
    # The recovery job, as the scheduler would run it, finds the batch once the dead worker's
    # lease (3 s here) has run out.
    wait_until(
        lambda: (
            f"'resumed': [{batch.pk}]"
            in in_child(env, "from sync import jobs; print(jobs.resume_interrupted_batches())")
        ),
        timeout_s=60,
        interval_s=0.5,
        message="the recovery job to resume the batch",
    )

    second = start_cluster(env)
    try:
        finished = wait_until(
            lambda: (b := SyncBatch.objects.get(pk=batch.pk)).status not in ACTIVE_BATCH_STATUSES and b,
            timeout_s=90,
            message="the resumed batch to finish",
        )
    finally:
        stop_cluster(second)

    assert finished.status == "success"
    assert (finished.processed_days, finished.success_days) == (DAYS, DAYS)
    assert list(finished.days.values_list("status", flat=True)) == ["success"] * DAYS
    days = [date(2025, 10, day) for day in range(1, DAYS + 1)]
    served = [(r["code"], r["id"]) for day in days for r in sandbox.documents("sales_order", day)]
    assert sorted(SalesOrder.objects.values_list("code", "remote_id")) == sorted(served)
    # Resumed at the first unfinished day: only the day the kill interrupted was fetched again.
    pages = sandbox.state()["pages_served"]
    fetches = {day: max(pages.get(f"{spec.doc_type} {day}", 0) for spec in DOCUMENT_SPECS) for day in days}
    assert all(fetches[day] >= 1 for day in days), fetches
    assert sum(count - 1 for count in fetches.values()) <= 1, f"days fetched again after the crash: {fetches}"
