"""Staff's side of the outbox: the API, the admin with its resend action, Prometheus."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerts import delivery, prometheus
from alerts.models import Channel, Notification
from alerts.outbox import enqueue_notification

pytestmark = pytest.mark.django_db

Status = Notification.Status
CHANGELIST = "/admin/alerts/notification/"


def notify(key: str, *, channel: str = Channel.WECOM_ROBOT, address: str = "robot-key-0001", **fields):
    return enqueue_notification(
        channel=channel, address=address, title=f"预警 {key}", text="内容", idempotency_key=key, **fields
    )


@pytest.fixture
def outbox(sandbox):
    """A sent robot message, a dead one (bad key), a pending SMS."""
    sent, dead = notify("sent"), notify("dead", address="invalid-robot-key")
    pending = notify("pending", channel=Channel.SMS, address="13800138000")
    assert delivery.deliver_notification(sent.pk) == Status.SENT
    assert delivery.deliver_notification(dead.pk) == Status.DEAD
    return {"sent": sent, "dead": dead, "pending": pending}


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_api_lists_notifications_with_their_delivery_state(staff_api, outbox):
    answer = staff_api.get("/api/v1/notifications/").json()

    assert answer["count"] == 3
    by_key = {row["idempotency_key"]: row for row in answer["results"]}
    assert by_key["dead"]["status"] == "dead"
    assert by_key["dead"]["last_error_code"] == "wecom_93000"
    assert by_key["sent"]["sent_at"]
    assert by_key["pending"]["address"] == "13800138000"
    assert by_key["sent"]["address"] == "robo…01", "a robot key lets anyone post: masked"


def test_api_filters_by_status_and_channel(staff_api, outbox):
    dead = staff_api.get("/api/v1/notifications/?status=dead").json()
    sms = staff_api.get("/api/v1/notifications/?channel=sms").json()

    assert [row["idempotency_key"] for row in dead["results"]] == ["dead"]
    assert [row["idempotency_key"] for row in sms["results"]] == ["pending"]


@pytest.mark.parametrize(("param", "value"), [("status", "lost"), ("channel", "pager")])
def test_api_refuses_an_unknown_filter_value_in_chinese(staff_api, outbox, param, value):
    answer = staff_api.get(f"/api/v1/notifications/?{param}={value}")

    assert answer.status_code == 400
    assert value in answer.json()["message"]
    assert answer.json()["message"].startswith(param)


def test_api_is_for_staff_only(field_api, anon_api, outbox):
    assert field_api.get("/api/v1/notifications/").status_code == 403
    assert anon_api.get("/api/v1/notifications/").status_code in (401, 403)


def test_admin_lists_notifications_with_robot_keys_masked(staff_client, outbox):
    page = staff_client.get(CHANGELIST).content.decode()

    assert "预警 dead" in page
    assert "robot-key-0001" not in page
    detail = staff_client.get(f"{CHANGELIST}{outbox['dead'].pk}/change/").content.decode()
    assert "wecom_93000" in detail
    assert "invalid-robot-key" not in detail


def test_admin_resend_sends_dead_ones_again_and_skips_unfinished(
    staff_client, outbox, sandbox, enqueue_in_process, django_capture_on_commit_callbacks
):
    Notification.objects.filter(pk=outbox["dead"].pk).update(address="robot-key-0002")  # staff fixed the route
    chosen = [outbox["dead"].pk, outbox["pending"].pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(CHANGELIST, {"action": "resend", "_selected_action": chosen}, follow=True)

    page = response.content.decode()
    assert "已重新排队 1 条通知" in page
    assert "已跳过" in page
    resent = Notification.objects.get(pk=outbox["dead"].pk)
    assert resent.status == Status.SENT
    assert resent.attempts == 1
    assert Notification.objects.get(pk=outbox["pending"].pk).status == Status.PENDING
    assert len(sandbox.state()["wecom_messages"]) == 2


def test_prometheus_counts_notifications_by_channel_and_status(outbox):
    found = {}
    for family in text_string_to_metric_families(prometheus.exposition().decode()):
        for sample in family.samples:
            if sample.name == "yunqiao_notifications":
                found[(sample.labels["channel"], sample.labels["status"])] = sample.value

    assert found[("wecom_robot", "sent")] == 1
    assert found[("wecom_robot", "dead")] == 1
    assert found[("sms", "pending")] == 1
    assert found[("email", "failed")] == 0


def test_api_errors_are_in_english_when_asked(staff_api, outbox):
    answer = staff_api.get("/api/v1/notifications/?channel=pager", HTTP_ACCEPT_LANGUAGE="en")

    assert answer.json()["message"] == "channel: Unknown channel: pager"
