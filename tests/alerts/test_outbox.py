"""The outbox seam: a notification is a row written in the caller's transaction, once per key."""

import pytest
from django.db import transaction

from alerts.outbox import Channel, Notification, enqueue_notification

pytestmark = pytest.mark.django_db


def enqueue(**overrides):
    fields = {
        "channel": Channel.WECOM_ROBOT,
        "address": "robot-key-1",
        "title": "上传失败",
        "text": "单据 SO-1 的照片上传失败",
        "link": "http://127.0.0.1:8000/alerts/",
        "idempotency_key": "alert-1-fired",
        "alert_ids": [1, 2],
    }
    return enqueue_notification(**{**fields, **overrides})


def test_a_notification_is_a_pending_row_with_its_alerts():
    notification = enqueue()
    row = Notification.objects.get(pk=notification.pk)
    assert row.status == Notification.Status.PENDING
    assert row.alert_ids == [1, 2]
    assert row.attempts == 0


def test_the_same_idempotency_key_returns_the_existing_row():
    first = enqueue()
    second = enqueue(text="another text")
    assert second.pk == first.pk
    assert Notification.objects.count() == 1
    assert Notification.objects.get().text == "单据 SO-1 的照片上传失败"


def test_delivery_is_enqueued_only_when_the_caller_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        enqueue()
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        enqueue()  # the existing row: nothing more to send
    assert callbacks == []


def test_a_rolled_back_caller_leaves_no_row(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        enqueue()
        raise RuntimeError("the alert change failed")
    assert callbacks == []
    assert not Notification.objects.exists()


def test_an_unknown_channel_is_refused():
    with pytest.raises(ValueError):
        enqueue(channel="pager")
    assert not Notification.objects.exists()
