"""Delivery of outbox rows to the sandbox over HTTP and SMTP: on commit, retries with backoff,
rate limits (the provider's and our own), permanent errors, exactly one send per row."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import delivery, redelivery
from alerts.models import Channel, Notification, RateSlot
from alerts.outbox import enqueue_notification

pytestmark = pytest.mark.django_db

Status = Notification.Status


def notify(key: str = "n-1", *, channel: str = Channel.WECOM_ROBOT, address: str = "robot-key-0001", **fields):
    return enqueue_notification(
        channel=channel,
        address=address,
        title=fields.get("title", "同步失败：2025-10-02"),
        text=fields.get("text", "2025-10-02 的销售订单同步失败，请在同步页面重试。"),
        link=fields.get("link", "http://127.0.0.1:8000/alerts/"),
        idempotency_key=key,
    )


def reload(notification) -> Notification:
    return Notification.objects.get(pk=notification.pk)


def test_a_committed_notification_is_delivered_at_once(sandbox, enqueue_in_process, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(channel=Channel.EMAIL, address="ops@example.com")

    row = reload(notification)
    assert row.status == Status.SENT
    assert row.attempts == 1
    assert row.sent_at is not None
    assert row.provider_message_id
    [email] = sandbox.state()["emails"]
    assert email["subject"] == "同步失败：2025-10-02"


@pytest.mark.parametrize(
    ("channel", "address", "log"),
    [
        (Channel.WECOM_ROBOT, "robot-key-0001", "wecom_messages"),
        (Channel.WECOM_APP, "zhangsan", "wecom_messages"),
        (Channel.SMS, "13800138000", "sms_messages"),
        (Channel.EMAIL, "ops@example.com", "emails"),
    ],
)
def test_every_channel_delivers_and_records_the_send(sandbox, channel, address, log):
    notification = notify(channel=channel, address=address)

    assert delivery.deliver_notification(notification.pk) == Status.SENT

    assert reload(notification).status == Status.SENT
    assert len(sandbox.state()[log]) == 1


def test_robot_45009_backs_off_a_minute_holds_the_robot_then_sends(sandbox):
    sandbox.faults(wecom_robot={"fail_next": 1, "error": 45009})
    first, second = notify("n-1"), notify("n-2")
    now = timezone.now()

    assert delivery.deliver_notification(first.pk, now=now) == Status.FAILED
    row = reload(first)
    assert row.last_error_code == "wecom_45009"
    assert row.attempts == 1
    assert row.next_attempt_at >= now + timedelta(seconds=60)
    # The robot said "too many": no worker sends to it again before the window has passed.
    requests_before = sandbox.state()["requests"]["wecom_robot"]
    assert delivery.deliver_notification(second.pk, now=now) == "rate_limited"
    assert sandbox.state()["requests"]["wecom_robot"] == requests_before
    assert reload(second).status == Status.PENDING
    assert reload(second).next_attempt_at > now + timedelta(seconds=60)

    assert delivery.deliver_notification(first.pk, now=now + timedelta(seconds=30)) == "not_due"
    later = row.next_attempt_at + timedelta(seconds=2)
    sandbox.faults(wecom_robot={"pass_s": (later - now).total_seconds()})
    assert delivery.deliver_notification(first.pk, now=later) == Status.SENT
    assert delivery.deliver_notification(second.pk, now=later) == Status.SENT
    assert reload(first).attempts == 2
    assert len(sandbox.state()["wecom_messages"]) == 2


def test_our_limit_keeps_a_robot_under_its_20_a_minute_without_a_single_45009(sandbox, settings):
    rows = [notify(f"n-{i}") for i in range(22)]
    now = timezone.now()

    outcomes = [delivery.deliver_notification(row.pk, now=now) for row in rows]

    assert outcomes.count(Status.SENT) == 20
    assert outcomes.count("rate_limited") == 2
    assert sandbox.state()["requests"]["wecom_robot"] == 20  # the 21st never reached the robot
    waiting = Notification.objects.filter(status=Status.PENDING)
    assert all(row.next_attempt_at >= now + timedelta(seconds=60) for row in waiting)
    # A minute later (for the robot too) they go out.
    later = now + timedelta(seconds=62)
    sandbox.faults(wecom_robot={"pass_s": 62})
    for row in waiting:
        assert delivery.deliver_notification(row.pk, now=later) == Status.SENT
    assert len(sandbox.state()["wecom_messages"]) == 22


def test_the_rate_limit_is_per_robot_and_a_setting_for_other_channels(sandbox, settings):
    settings.EMAIL_PER_MIN = 1
    now = timezone.now()
    a = notify("a", address="robot-key-000a")
    b = notify("b", address="robot-key-000b")
    mail_1 = notify("m1", channel=Channel.EMAIL, address="a@example.com")
    mail_2 = notify("m2", channel=Channel.EMAIL, address="b@example.com")

    assert delivery.deliver_notification(a.pk, now=now) == Status.SENT
    assert delivery.deliver_notification(b.pk, now=now) == Status.SENT
    assert delivery.deliver_notification(mail_1.pk, now=now) == Status.SENT
    assert delivery.deliver_notification(mail_2.pk, now=now) == "rate_limited"
    assert not RateSlot.objects.filter(bucket__contains="robot-key").exists(), "robot keys are secrets"


def test_permanent_error_goes_to_dead_at_once_with_the_error_kept(sandbox):
    notification = notify(address="invalid-robot-key")

    assert delivery.deliver_notification(notification.pk) == Status.DEAD

    row = reload(notification)
    assert row.status == Status.DEAD
    assert row.attempts == 1
    assert row.last_error_code == "wecom_93000"
    assert "93000" in row.last_error_message
    assert row.next_attempt_at is None
    assert delivery.deliver_notification(notification.pk) == "skipped"
    assert sandbox.state()["wecom_messages"] == []


def test_retryable_errors_back_off_exponentially_then_give_up(sandbox, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.NOTIFY_RETRY_BASE_S = 30
    sandbox.faults(sms={"fail_next": -1, "error": "isp.SYSTEM_ERROR"})
    notification = notify(channel=Channel.SMS, address="13800138000")
    now = timezone.now()
    delays = []
    for _ in range(2):
        assert delivery.deliver_notification(notification.pk, now=now) == Status.FAILED
        due = reload(notification).next_attempt_at
        delays.append((due - now).total_seconds())
        now = due
    assert delivery.deliver_notification(notification.pk, now=now) == Status.DEAD

    assert 15 <= delays[0] <= 30  # half fixed, half jitter of 30 s
    assert 30 <= delays[1] <= 60  # then of 60 s
    row = reload(notification)
    assert (row.attempts, row.last_error_code) == (3, "sms_isp.SYSTEM_ERROR")


def test_a_redelivered_task_sends_nothing_more(sandbox):
    notification = notify()

    assert delivery.deliver_notification(notification.pk) == Status.SENT
    assert delivery.deliver_notification(notification.pk) == "skipped"

    assert len(sandbox.state()["wecom_messages"]) == 1


def test_the_minute_dispatcher_enqueues_each_due_row_once(sandbox, enqueue_in_process):
    sandbox.faults(wecom_robot={"fail_next": 1, "error": -1})
    notification = notify()
    now = timezone.now()
    assert delivery.deliver_notification(notification.pk, now=now) == Status.FAILED
    due = reload(notification).next_attempt_at

    assert redelivery.dispatch_due_notifications(now=due - timedelta(seconds=1)) == 0
    # In-process broker: dispatching runs the task, on the real clock, which is before `due` —
    # so pass the time by moving the row's due time instead of the clock.
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=timezone.now())
    assert redelivery.dispatch_due_notifications() == 1
    assert redelivery.dispatch_due_notifications() == 0

    assert reload(notification).status == Status.SENT
    assert len(sandbox.state()["wecom_messages"]) == 1


def test_an_sms_whose_worker_died_after_aliyun_took_it_is_not_sent_again(sandbox):
    """The crash window: Aliyun accepted the message, the worker died before writing `sent`.
    After the lease, the sweep puts the row back, and the next attempt finds the message by its
    OutId (QuerySendDetails) instead of sending a second SMS."""
    from alerts.channels import sms

    row = notify("sms-crash", channel=Channel.SMS, address="13800138000")
    now = timezone.now()
    lease = delivery.claim(row.pk, now=now)
    sms.send(address=row.address, title=row.title, text=row.text, link=row.link, idempotency_key=row.idempotency_key)
    # … and the worker is killed here, before record_sent.
    later = now + timedelta(seconds=delivery.settings.NOTIFY_LEASE_S + 1)
    assert redelivery.revive_stalled_notifications(now=later)["revived_sending"] == 1
    assert lease and reload(row).last_error_code == "lease_expired"

    assert delivery.deliver_notification(row.pk, now=later) == Status.SENT
    assert [m["out_id"] for m in sandbox.state()["sms_messages"]] == ["sms-crash"]
    assert reload(row).status == Status.SENT


def test_an_sms_whose_earlier_attempt_never_reached_aliyun_is_sent(sandbox):
    row = notify("sms-lost", channel=Channel.SMS, address="13800138000")
    now = timezone.now()
    delivery.claim(row.pk, now=now)  # the worker died before sending
    later = now + timedelta(seconds=delivery.settings.NOTIFY_LEASE_S + 1)
    redelivery.revive_stalled_notifications(now=later)
    assert delivery.deliver_notification(row.pk, now=later) == Status.SENT
    assert [m["out_id"] for m in sandbox.state()["sms_messages"]] == ["sms-lost"]
