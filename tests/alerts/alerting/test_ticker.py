"""The ticker that sends a group at its window's end (Alertmanager's group_wait), driven by
passing `now`: a failing upload, a failed sync day and a failed job reach the sandbox robot as one
grouped message each within a minute, with ticks every ALERT_TICK_S; and several tickers on several
hosts share the work through claims in the database."""

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alerts import services
from alerts.alerting import ticker
from alerts.alerting.lifecycle import raise_alert
from alerts.alerting.models import AlertTimer
from alerts.outbox import Notification
from sync.models import DayStatus, SyncDay
from uploads import services as upload_services
from uploads import tasks as upload_tasks

from .conftest import T0

pytestmark = pytest.mark.django_db

ROBOT = "yunqiao-sandbox-robot"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


@pytest.fixture
def media(settings):
    media = Path(settings.DATA_DIR) / f"test-media-alerting-ticker-{os.getpid()}"
    settings.MEDIA_ROOT = media
    yield media
    shutil.rmtree(media, ignore_errors=True)


TITLES = ["【严重】ERP 单日同步失败 1 条", "【警告】单据照片上传失败 1 条", "【警告】定时任务失败 1 条"]


def robot_messages(sandbox):
    return [message for message in sandbox.state()["wecom_messages"] if message.get("key") == ROBOT]


def dispatch_due_at():
    return AlertTimer.objects.get(name=ticker.DISPATCH).due_at


def test_three_failures_reach_the_robot_grouped_within_a_minute_of_ticks(
    sandbox, settings, media, declare_job, enqueue_in_process, django_capture_on_commit_callbacks, django_user_model
):
    settings.ALERT_DEFAULT_ROBOT_KEY = ROBOT
    settings.ALERT_DEFAULT_EMAIL = "admin"
    django_user_model.objects.create_superuser("admin", email="", password="x")
    failed_at = timezone.now()
    settings.YONYOU_APP_SECRET = "not-the-secret"
    files = [SimpleUploadedFile(f"p{i}.jpg", JPEG, "image/jpeg") for i in range(2)]
    records = upload_services.accept_upload(
        uploads=files, product_type=None, business_id="1836660026080493581", doc_number="SO-1", doc_type="销售"
    )
    for record in records:
        upload_tasks.upload_record(record.pk)  # raises upload_failed at once
    SyncDay.objects.create(sync_date=date(2026, 3, 1), status=DayStatus.FAILED, error_code="http_503")
    declare_job(lambda: 1 / 0, id="probe_job", name="探针任务")
    services.execute_job(job_id="probe_job")

    # Tickers every 2 s, the first one a whole evaluation interval after the failures (the worst
    # case); the upload's alert was raised at once, the others by the ticker's evaluation.
    arrived = {}
    for step in range(0, 60, 2):
        at = failed_at + timedelta(seconds=settings.ALERT_EVALUATE_EVERY_S + step)
        with django_capture_on_commit_callbacks(execute=True):
            ticker.tick(now=at)
        for message in robot_messages(sandbox):
            arrived.setdefault(message["content"].splitlines()[0].strip("*# "), (at - failed_at).total_seconds())
        if len(arrived) == 3:
            break
    assert sorted(arrived) == sorted(TITLES)
    # group_wait, plus for the evaluated rules the evaluation interval, plus one tick.
    assert 30 <= arrived["【警告】单据照片上传失败 1 条"] <= 30 + 2
    assert max(arrived.values()) <= 10 + 30 + 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    first_message_at = failed_at + timedelta(seconds=max(arrived.values()))

    # Later ticks send nothing more: no repeat before the repeat interval.
    with django_capture_on_commit_callbacks(execute=True):
        ticker.tick(now=first_message_at + timedelta(seconds=30))
    assert len(robot_messages(sandbox)) == 3


def test_a_raised_alert_brings_the_dispatch_forward_to_its_group_wait_end(declare_rule):
    declare_rule(id="stock_low", name="缺料")
    ticker.wake_dispatch_by(T0 + timedelta(hours=1))
    raise_alert(rule="stock_low", key="A", title="A", now=T0)
    assert dispatch_due_at() == T0 + timedelta(seconds=30)
    raise_alert(rule="stock_low", key="B", title="B", now=T0 + timedelta(seconds=10))
    assert dispatch_due_at() == T0 + timedelta(seconds=30)  # an earlier wake is kept

    # A tick before then does no pass; at the window's end a tick wins it, and A and B go out
    # together: one message per receiver listing both.
    assert ticker.DISPATCH not in ticker.tick(now=T0 + timedelta(seconds=29))
    done = ticker.tick(now=T0 + timedelta(seconds=30))[ticker.DISPATCH]
    assert done["messages"] >= 1 and done["alerts_told"] == 2 * done["messages"] and done["waiting"] == 0
    assert dispatch_due_at() is None  # nothing left waiting


def test_a_pass_leaves_the_timer_at_the_earliest_window_still_running(declare_rule):
    declare_rule(id="stock_low", name="缺料")
    raise_alert(rule="stock_low", key="A", title="A", labels={"project": "P1"}, now=T0)
    raise_alert(rule="stock_low", key="B", title="B", labels={"project": "P2"}, now=T0 + timedelta(seconds=20))
    done = ticker.tick(now=T0 + timedelta(seconds=30))
    assert done[ticker.DISPATCH]["messages"] >= 1 and done[ticker.DISPATCH]["waiting"] >= 1
    assert dispatch_due_at() == T0 + timedelta(seconds=50)


def test_of_several_tickers_exactly_one_wins_each_due_time():
    AlertTimer.objects.create(name="probe", due_at=T0)
    assert ticker.claim("probe", now=T0, next_due=T0 + timedelta(seconds=10)) is True
    assert ticker.claim("probe", now=T0, next_due=T0 + timedelta(seconds=10)) is False
    assert ticker.claim("probe", now=T0 + timedelta(seconds=9), next_due=None) is False
    assert ticker.claim("probe", now=T0 + timedelta(seconds=10), next_due=None) is True
    assert ticker.claim("probe", now=T0 + timedelta(days=1), next_due=None) is False  # not due until woken
