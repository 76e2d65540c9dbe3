"""The first business rules, on what exists today: an upload failed for good, a failed ERP sync
day, a failed or partial sync batch, the Yonyou token failing. Each is a declaration plus one
set-based query yielding the keys still true; `check_system_alerts` hands each set to
`evaluate_rule`, which raises, refreshes and resolves.

`sync_day_failed` is the inhibiting rule of ERP data: while it fires for a date, alerts of rules
reading the tables the day sync writes, for that `date`, are held (see `alerting.suppression`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max, Min
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts import registry
from alerts.alerting.lifecycle import Firing, raise_alert
from alerts.alerting.messages import absolute_url, in_site_language
from alerts.alerting.models import Severity
from alerts.alerting.rules import declare_rule
from alerts.alerting.thresholds import threshold_value

DAY_STATUS_TABLE = "daily_sync_status"
# Error codes of the Yonyou client meaning "no usable access token" (yonyou.errors).
TOKEN_ERROR_CODES = ("token_refresh_failed", "auth_rejected")


def erp_day_tables() -> set[str]:
    """Tables filled by the ERP day sync: whatever the jobs writing the day status also write."""
    tables = set()
    for spec in registry.all_jobs():
        if DAY_STATUS_TABLE in spec.writes:
            tables.update(spec.writes)
    return tables - {DAY_STATUS_TABLE}


UPLOAD_FAILED = declare_rule(
    id="upload_failed",
    name=gettext_lazy("单据照片上传失败"),
    severity=Severity.WARNING,
    category="预警",
    advice=gettext_lazy("在上传记录中查看错误原因，处理后点“重试”"),
    reads=["upload_history"],
)
SYNC_DAY_FAILED = declare_rule(
    id="sync_day_failed",
    name=gettext_lazy("ERP 单日同步失败"),
    severity=Severity.CRITICAL,
    category="预警",
    advice=gettext_lazy("在同步页面查看错误并重新同步该日期；依赖该日数据的预警暂缓发送"),
    reads=[DAY_STATUS_TABLE],
    stale_tables_while_firing=erp_day_tables,
    inhibit_equal=["date"],
)
SYNC_BATCH_FAILED = declare_rule(
    id="sync_batch_failed",
    name=gettext_lazy("ERP 批量同步失败"),
    severity=Severity.WARNING,
    category="预警",
    advice=gettext_lazy("在同步页面查看失败的日期，点“重试失败日期”"),
    reads=["sync_syncbatch", "sync_syncbatchday"],
)
YONYOU_TOKEN_FAILING = declare_rule(
    id="yonyou_token_failing",
    name=gettext_lazy("用友令牌获取失败"),
    severity=Severity.CRITICAL,
    category="预警",
    advice=gettext_lazy("检查用友开放平台的应用 key/secret 与网络；恢复前上传和同步都会失败"),
    reads=["upload_history", DAY_STATUS_TABLE],
)


# --- upload_failed: one alert per document whose photo failed for good --------------------------


def _upload_firing(business_id: str, doc_number: str, failures: int, error: str) -> Firing:
    return Firing(
        key=business_id,
        title=_("单据 %(doc)s 有 %(count)s 张照片上传失败") % {"doc": doc_number or business_id, "count": failures},
        detail=error[:1000],
        labels={"document": business_id},
        link=absolute_url(reverse("uploads:history-page", args=[business_id])),
    )


def failed_uploads() -> list[Firing]:
    """Documents with at least one photo in `failed` (retries spent or refused for good)."""
    from uploads.models import UploadRecord, UploadStatus

    documents: dict[str, dict] = {}
    failed = UploadRecord.objects.alive().filter(status=UploadStatus.FAILED).order_by("failed_at", "pk")
    for row in failed.values("business_id", "doc_number", "error_code", "error_message"):
        document = documents.setdefault(row["business_id"], {"count": 0})
        document.update(row, count=document["count"] + 1)  # the latest failure's error wins
    return [
        _upload_firing(
            business_id,
            row["doc_number"],
            row["count"],
            f"[{row['error_code'] or ''}] {row['error_message'] or ''}",
        )
        for business_id, row in documents.items()
    ]


@in_site_language
def upload_failed_for_good(*, record_id: int) -> None:
    """Called by uploads when a record ends failed: raise its document's alert now, not at the
    next evaluation."""
    from uploads.models import UploadRecord, UploadStatus

    record = UploadRecord.objects.alive().filter(pk=record_id, status=UploadStatus.FAILED).first()
    if record is None:
        return
    failures = UploadRecord.objects.alive().filter(business_id=record.business_id, status=UploadStatus.FAILED)
    firing = _upload_firing(
        record.business_id,
        record.doc_number,
        failures.count(),
        f"[{record.error_code or ''}] {record.error_message or ''}",
    )
    raise_alert(
        rule=UPLOAD_FAILED.id,
        key=firing.key,
        title=firing.title,
        detail=firing.detail,
        labels=firing.labels,
        link=firing.link,
    )


# --- sync_day_failed and sync_batch_failed ---------------------------------------------------------


def failed_sync_days() -> list[Firing]:
    from sync.models import DayStatus, SyncDay

    link = absolute_url(reverse("sync-page"))
    return [
        Firing(
            key=day.sync_date.isoformat(),
            title=_("%(date)s 的 ERP 数据同步失败") % {"date": day.sync_date.isoformat()},
            detail=f"[{day.error_code}] {day.error_message}"[:1000],
            labels={"date": day.sync_date.isoformat()},
            link=link,
        )
        for day in SyncDay.objects.filter(status=DayStatus.FAILED).only("sync_date", "error_code", "error_message")
    ]


def failed_sync_batches() -> list[Firing]:
    """The latest finished batch, when it failed or was partial: a newer batch supersedes it."""
    from sync.models import FINISHED_BATCH_STATUSES, BatchStatus, SyncBatch

    latest = SyncBatch.objects.filter(status__in=FINISHED_BATCH_STATUSES).order_by("-finished_at", "-pk").first()
    if latest is None or latest.status not in (BatchStatus.FAILED, BatchStatus.PARTIAL):
        return []
    return [
        Firing(
            key=str(latest.pk),
            title=_("批量同步 #%(id)s（%(start)s 至 %(end)s）%(status)s：%(failed)s 天失败")
            % {
                "id": latest.pk,
                "start": latest.start_date.isoformat(),
                "end": latest.end_date.isoformat(),
                "status": latest.get_status_display(),
                "failed": latest.failed_days,
            },
            detail=latest.error_message[:1000],
            labels={"batch": str(latest.pk)},
            link=absolute_url(reverse("sync-page")),
        )
    ]


# --- yonyou_token_failing ----------------------------------------------------------------------------


def token_failing(now: datetime | None = None) -> list[Firing]:
    """No usable Yonyou token for longer than the threshold: every call since the last successful
    one (an upload or a sync day) failed on the token, and the first such failure is old enough."""
    from sync.models import DayStatus, SyncDay
    from uploads.models import UploadRecord, UploadStatus

    now = now or timezone.now()
    minutes = threshold_value("token_failing_minutes")
    successes = [
        UploadRecord.objects.filter(status=UploadStatus.SUCCESS).aggregate(at=Max("succeeded_at"))["at"],
        SyncDay.objects.filter(status=DayStatus.SUCCESS).aggregate(at=Max("end_time"))["at"],
    ]
    last_success = max((at for at in successes if at is not None), default=None)
    uploads = UploadRecord.objects.filter(error_code__in=TOKEN_ERROR_CODES)
    days = SyncDay.objects.filter(error_code__in=TOKEN_ERROR_CODES)
    if last_success is not None:
        uploads, days = uploads.filter(updated_at__gt=last_success), days.filter(end_time__gt=last_success)
    firsts = [uploads.aggregate(at=Min("updated_at"))["at"], days.aggregate(at=Min("end_time"))["at"]]
    first_failure = min((at for at in firsts if at is not None), default=None)
    if first_failure is None or first_failure > now - timedelta(minutes=minutes):
        return []
    return [
        Firing(
            key="yonyou",
            title=_("用友令牌自 %(time)s 起获取失败，已超过 %(minutes)s 分钟")
            % {"time": timezone.localtime(first_failure).strftime("%m-%d %H:%M"), "minutes": f"{minutes:g}"},
            labels={"remote": "yonyou"},
            link=absolute_url(reverse("sync-page")),
        )
    ]
