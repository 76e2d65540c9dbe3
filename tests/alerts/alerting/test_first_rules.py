"""The first rules on today's data: an upload failed for good (raised at once by the upload, and
kept in step by the evaluation), a failed sync day (holding alerts on that day's ERP data), the
latest sync batch failed or partial, the Yonyou token failing for longer than a threshold."""

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alerts.alerting.jobs import evaluate_system_rules
from alerts.alerting.models import Alert
from alerts.alerting.thresholds import set_threshold, threshold_value
from sync.models import BatchStatus, DayStatus, SyncBatch, SyncDay
from uploads import services as upload_services
from uploads import tasks as upload_tasks
from uploads.models import UploadRecord, UploadStatus

from ..alerting.conftest import T0

pytestmark = pytest.mark.django_db

DOCUMENT = {"business_id": "1836660026080493581", "doc_number": "SO20251021-0001", "doc_type": "销售"}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


@pytest.fixture
def uploaded(settings):
    """Accept photos through the uploads service; files go under DATA_DIR, as uploads require."""
    media = Path(settings.DATA_DIR) / f"test-media-alerting-{os.getpid()}"
    settings.MEDIA_ROOT = media

    def upload(count=1):
        files = [SimpleUploadedFile(f"photo{i}.jpg", JPEG, "image/jpeg") for i in range(count)]
        return upload_services.accept_upload(uploads=files, product_type=None, **DOCUMENT)

    yield upload
    shutil.rmtree(media, ignore_errors=True)


def test_an_upload_refused_for_good_raises_its_documents_alert_at_once(sandbox, uploaded, settings):
    settings.YONYOU_APP_SECRET = "not-the-secret"
    [record] = uploaded(1)

    assert upload_tasks.upload_record(record.pk) == UploadStatus.FAILED

    alert = Alert.objects.get(rule="upload_failed")
    assert (alert.key, alert.status, alert.severity) == (DOCUMENT["business_id"], "firing", "warning")
    assert alert.title == "单据 SO20251021-0001 有 1 张照片上传失败"
    assert "auth_rejected" in alert.detail
    assert alert.link.endswith(f"/uploads/history/{DOCUMENT['business_id']}/")


def test_the_evaluation_keeps_upload_alerts_in_step_with_the_records(uploaded):
    first, second = uploaded(2)
    now = timezone.now()
    UploadRecord.objects.filter(pk__in=[first.pk, second.pk]).update(
        status=UploadStatus.FAILED, failed_at=now, error_code="yonyou_999", error_message="拒绝"
    )
    evaluate_system_rules(now=now)
    alert = Alert.objects.get(rule="upload_failed")
    assert alert.title == "单据 SO20251021-0001 有 2 张照片上传失败"

    # Staff retried both and they went through: the alert resolves by itself.
    UploadRecord.objects.filter(pk__in=[first.pk, second.pk]).update(status=UploadStatus.SUCCESS, succeeded_at=now)
    evaluate_system_rules(now=now + timedelta(minutes=1))
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_how) == ("resolved", "auto")


def test_a_failed_sync_day_fires_per_date_with_its_date_label_until_synced_again():
    day = SyncDay.objects.create(
        sync_date=date(2026, 3, 1), status=DayStatus.FAILED, error_code="http_503", error_message="ERP 不可用"
    )
    SyncDay.objects.create(sync_date=date(2026, 3, 2), status=DayStatus.SUCCESS)
    evaluate_system_rules(now=T0)
    alert = Alert.objects.get(rule="sync_day_failed")
    assert (alert.key, alert.labels, alert.severity) == ("2026-03-01", {"date": "2026-03-01"}, "critical")
    assert "[http_503] ERP 不可用" in alert.detail

    SyncDay.objects.filter(pk=day.pk).update(status=DayStatus.SUCCESS)
    evaluate_system_rules(now=T0 + timedelta(minutes=1))
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_the_latest_finished_batch_failed_or_partial_fires_until_a_newer_batch_succeeds():
    def batch(status, finished):
        return SyncBatch.objects.create(
            status=status,
            start_date=date(2026, 2, 1),
            end_date=date(2026, 2, 10),
            total_days=10,
            failed_days=3 if status != BatchStatus.SUCCESS else 0,
            finished_at=finished,
            active_marker=False,
        )

    partial = batch(BatchStatus.PARTIAL, T0)
    evaluate_system_rules(now=T0)
    alert = Alert.objects.get(rule="sync_batch_failed")
    assert alert.key == str(partial.pk)
    assert alert.title == f"批量同步 #{partial.pk}（2026-02-01 至 2026-02-10）部分失败：3 天失败"

    batch(BatchStatus.SUCCESS, T0 + timedelta(hours=1))
    evaluate_system_rules(now=T0 + timedelta(hours=1))
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_token_failing_fires_only_past_the_threshold_and_without_a_success_since(uploaded):
    [record] = uploaded(1)
    failed_at = timezone.now()
    UploadRecord.objects.filter(pk=record.pk).update(
        status=UploadStatus.PENDING, error_code="token_refresh_failed", updated_at=failed_at
    )
    assert threshold_value("token_failing_minutes") == 15
    evaluate_system_rules(now=failed_at + timedelta(minutes=14))
    assert not Alert.objects.filter(rule="yonyou_token_failing").exists()
    evaluate_system_rules(now=failed_at + timedelta(minutes=16))
    assert Alert.objects.get(rule="yonyou_token_failing").status == "firing"

    set_threshold(key="token_failing_minutes", value=30)
    evaluate_system_rules(now=failed_at + timedelta(minutes=17))
    assert Alert.objects.get(rule="yonyou_token_failing").status == "resolved"

    # A later successful call ends the streak whatever the threshold.
    set_threshold(key="token_failing_minutes", value=1)
    SyncDay.objects.create(
        sync_date=date(2026, 3, 1), status=DayStatus.SUCCESS, end_time=failed_at + timedelta(minutes=2)
    )
    evaluate_system_rules(now=failed_at + timedelta(minutes=20))
    assert Alert.objects.filter(rule="yonyou_token_failing", status="firing").count() == 0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("token_failing_minutes", 0, "取值范围为 1 到 1440 分钟"),
        ("group_window_s", "abc", "请输入数字"),
        ("repeat_interval_s", 600.5, "请输入整数"),
        ("no_such_threshold", 1, "没有这个参数"),
        ("group_window_s", float("nan"), "请输入数字"),
    ],
)
def test_out_of_bounds_thresholds_are_refused_in_chinese_and_not_saved(key, value, message):
    with pytest.raises(ValidationError) as refused:
        set_threshold(key=key, value=value)
    assert message in " ".join(refused.value.messages)
    assert threshold_value("token_failing_minutes") == 15


def test_every_rule_declared_with_its_query_is_evaluated_by_the_system_check(declare_rule):
    from alerts.alerting.lifecycle import Firing
    from alerts.alerting.rules import evaluated_rules

    # The shipped rules come from the apps' autodiscovered `alert_rules` modules.
    assert {rule.id for rule in evaluated_rules()} >= {
        "job_failed",
        "job_not_running",
        "upload_failed",
        "sync_day_failed",
        "sync_batch_failed",
        "yonyou_token_failing",
    }
    declare_rule(id="probe_stock_low", evaluate=lambda now: [Firing(key=now.date().isoformat(), title="缺料")])
    declare_rule(id="probe_raised_from_code")

    summary = evaluate_system_rules(now=T0)

    assert summary["probe_stock_low"]["raised"] == 1
    assert "probe_raised_from_code" not in summary
    assert Alert.objects.get(rule="probe_stock_low").key == "2026-03-02"
