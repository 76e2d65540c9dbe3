"""The issue's "done when", in one process against the sandbox over HTTP: a failing upload, a
failed sync day and a failed job each reach the sandbox WeCom robot as one grouped Chinese message,
with nothing configured but the default receivers; then, once they recover, one "已恢复" each."""

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alerts import services
from alerts.alerting.dispatch import dispatch_alert_notifications
from alerts.alerting.jobs import evaluate_system_rules
from alerts.outbox import Notification
from sync.models import DayStatus, SyncDay
from uploads import services as upload_services
from uploads import tasks as upload_tasks

pytestmark = pytest.mark.django_db

ROBOT = "yunqiao-sandbox-robot"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


@pytest.fixture
def media(settings):
    media = Path(settings.DATA_DIR) / f"test-media-alerting-e2e-{os.getpid()}"
    settings.MEDIA_ROOT = media
    yield media
    shutil.rmtree(media, ignore_errors=True)


def robot_titles(sandbox):
    return sorted(
        message["content"].splitlines()[0].strip("*# ")
        for message in sandbox.state()["wecom_messages"]
        if message.get("key") == ROBOT
    )


def test_upload_sync_day_and_job_failures_reach_the_sandbox_robot_grouped_then_recover(
    sandbox, settings, media, declare_job, enqueue_in_process, django_capture_on_commit_callbacks, django_user_model
):
    settings.ALERT_DEFAULT_ROBOT_KEY = ROBOT
    settings.ALERT_DEFAULT_EMAIL = "admin"
    django_user_model.objects.create_superuser("admin", email="", password="x")

    # Two photos of one document refused for good (wrong app secret): one alert for the document.
    settings.YONYOU_APP_SECRET = "not-the-secret"
    files = [SimpleUploadedFile(f"p{i}.jpg", JPEG, "image/jpeg") for i in range(2)]
    records = upload_services.accept_upload(
        uploads=files, product_type=None, business_id="1836660026080493581", doc_number="SO-1", doc_type="销售"
    )
    for record in records:
        upload_tasks.upload_record(record.pk)
    SyncDay.objects.create(sync_date=date(2026, 3, 1), status=DayStatus.FAILED, error_code="http_503")
    declare_job(lambda: 1 / 0, id="probe_job", name="探针任务")
    services.execute_job(job_id="probe_job")

    now = timezone.now()
    evaluate_system_rules(now=now)
    with django_capture_on_commit_callbacks(execute=True):
        report = dispatch_alert_notifications(now=now + timedelta(seconds=61))
    assert report["messages"] == 6  # three groups, each to the robot and to the admin's email

    assert robot_titles(sandbox) == sorted(
        [
            "【严重】ERP 单日同步失败 1 条",
            "【警告】单据照片上传失败 1 条",
            "【警告】定时任务失败 1 条",
        ]
    )
    assert {mail["to"][0] for mail in sandbox.state()["emails"]} == {"admin@yunqiao.local"}
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}

    # Everything recovers: each group hears "已恢复" once, nothing is repeated.
    SyncDay.objects.update(status=DayStatus.SUCCESS)
    records[0].__class__.objects.filter(pk__in=[r.pk for r in records]).update(status="success")
    declare_job(lambda: {}, id="probe_job", name="探针任务")
    services.execute_job(job_id="probe_job")
    evaluate_system_rules(now=now + timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        report = dispatch_alert_notifications(now=now + timedelta(minutes=3))
    assert (report["messages"], report["resolved_messages"]) == (0, 6)
    assert sum(title.startswith("【已恢复】") for title in robot_titles(sandbox)) == 3
