"""Exactly one send per notification when workers race, and none lost when a worker dies."""

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from alerts import delivery, redelivery
from alerts.models import Channel, Notification
from alerts.outbox import enqueue_notification
from tests.conftest import REPO_ROOT, child_env, wait_until

Status = Notification.Status


def notify(key: str, address: str = "robot-key-0001") -> Notification:
    """A row written by the outbox; in a non-transactional test its task never reaches a broker."""
    return enqueue_notification(
        channel=Channel.WECOM_ROBOT,
        address=address,
        title="任务失败：sync_erp_day",
        text="任务 sync_erp_day 运行失败，请查看运行记录。",
        link="http://127.0.0.1:8000/alerts/",
        idempotency_key=key,
    )


def unqueued_row(key: str, address: str = "robot-key-0001") -> Notification:
    """The row enqueue_notification writes, without handing its task to the broker: in a
    transactional test that would commit at once, and a qcluster of another test could take it."""
    return Notification.objects.create(
        channel=Channel.WECOM_ROBOT,
        address=address,
        title="任务失败：sync_erp_day",
        text="任务 sync_erp_day 运行失败，请查看运行记录。",
        idempotency_key=key,
        enqueued_at=timezone.now(),
    )


@pytest.mark.django_db(transaction=True)
def test_four_workers_racing_on_the_same_rows_send_each_exactly_once(sandbox):
    # Slow answers widen the window in which a second claim could slip in.
    sandbox.faults(wecom_robot={"latency_ms": [50, 100]})
    rows = [unqueued_row(f"race-{i}", address=f"robot-key-000{i}") for i in range(5)]  # their tasks: the threads
    outcomes: list[str] = []
    errors: list[Exception] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            start.wait()
            for row in rows:
                outcomes.append(delivery.deliver_notification(row.pk))
        except Exception as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert outcomes.count(Status.SENT) == 5
    assert outcomes.count("skipped") == 15
    received = sandbox.state()["wecom_messages"]
    assert sorted(message["key"] for message in received) == [f"robot-key-000{i}" for i in range(5)]
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}


DELIVER_IN_CHILD = """
import sys, django
django.setup()
from alerts import delivery
delivery.deliver_notification(int(sys.argv[1]))
"""


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_loses_nothing_and_the_sweep_sends_once(sandbox, enqueue_in_process):
    # The robot holds the next message for a while: the worker is killed while waiting for it.
    sandbox.faults(wecom_robot={"hang_next": 1, "hang_s": 3})
    row = unqueued_row("killed-1")  # its task is the child below
    child = subprocess.Popen(
        [sys.executable, "-c", DELIVER_IN_CHILD, str(row.pk)],
        cwd=REPO_ROOT,
        env=child_env(DJANGO_SETTINGS_MODULE="config.settings", **sandbox.channel_settings()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: sandbox.state()["requests"].get("wecom_robot") == 1,
            timeout_s=30,
            message="the worker's send to reach the robot",
        )
        assert Notification.objects.get(pk=row.pk).status == Status.SENDING
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # The robot notices its caller is gone and drops the message (nothing was delivered).
    wait_until(lambda: sandbox.state()["requests"].get("wecom_robot_dropped") == 1, message="the drop")
    assert sandbox.state()["wecom_messages"] == []

    # Before the lease ends the sweep leaves the row alone (the worker might still be sending).
    assert redelivery.revive_stalled_notifications()["revived_sending"] == 0
    assert Notification.objects.get(pk=row.pk).status == Status.SENDING

    later = timezone.now() + timedelta(seconds=settings.NOTIFY_LEASE_S + 1)
    report = redelivery.revive_stalled_notifications(now=later)

    assert report["revived_sending"] == 1
    assert report["dispatched"] == 1
    row = Notification.objects.get(pk=row.pk)
    assert row.status == Status.SENT
    assert row.attempts == 2  # the interrupted send counts
    assert row.last_error_code == "lease_expired"
    assert len(sandbox.state()["wecom_messages"]) == 1
    # Sweeping again sends nothing more.
    assert redelivery.revive_stalled_notifications(now=later + timedelta(seconds=1))["dispatched"] == 0
    assert len(sandbox.state()["wecom_messages"]) == 1


@pytest.mark.django_db
def test_a_pending_row_whose_task_vanished_is_sent_by_the_sweep(sandbox, enqueue_in_process):
    row = notify("lost-task")  # no commit callback ran: its task never reached the broker
    assert redelivery.revive_stalled_notifications()["requeued_pending"] == 0  # enqueued just now

    later = timezone.now() + timedelta(seconds=settings.NOTIFY_PENDING_STALE_S + 1)
    report = redelivery.revive_stalled_notifications(now=later)

    assert report == {"revived_sending": 0, "requeued_pending": 1, "dispatched": 1}
    assert Notification.objects.get(pk=row.pk).status == Status.SENT
    assert len(sandbox.state()["wecom_messages"]) == 1


@pytest.mark.django_db
def test_of_two_workers_that_both_read_the_row_as_pending_only_one_claims_it(sandbox):
    # The interleaving the threads above may or may not hit, made deterministic: both workers
    # have read the row as pending; the conditional UPDATE lets exactly one of them send.
    row = notify("interleaved")
    now = timezone.now()
    first = delivery.claim(row.pk, now=now)
    second = delivery.claim(row.pk, now=now)
    assert first is not None
    assert second is None
    assert Notification.objects.get(pk=row.pk).lease_token == first


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_a_committed_notification_reaches_the_robot_through_the_cluster(qcluster, sandbox):
    row = notify("through-the-cluster")  # autocommit: enqueued to the real broker at once

    wait_until(
        lambda: Notification.objects.get(pk=row.pk).status == Status.SENT,
        timeout_s=60,
        message="the cluster to deliver the notification",
    )
    [received] = sandbox.state()["wecom_messages"]
    assert "任务失败：sync_erp_day" in received["content"]
