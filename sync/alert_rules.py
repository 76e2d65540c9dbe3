"""The sync app's alert rules (autodiscovered by alerts.alerting.rules), each evaluated every
minute by `check_system_alerts`: a failed ERP sync day, the latest sync batch failed or partial,
and the Yonyou token failing.

`sync_day_failed` is the inhibiting rule of ERP data: while it fires for a date, alerts of rules
reading the tables the day sync writes, for that `date`, are held (see `alerting.suppression`).

`yonyou_token_failing` is declared here because the day sync is the Yonyou client's main user and
its page is where the person told looks; it also counts the uploads' calls, through
`uploads.selectors`, so that one token outage is one alert whichever app hit it first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts import registry
from alerts.alerting.lifecycle import Firing
from alerts.alerting.messages import absolute_url
from alerts.alerting.models import Severity
from alerts.alerting.rules import declare_rule
from alerts.alerting.thresholds import threshold_value
from sync import selectors
from sync.models import FINISHED_BATCH_STATUSES, BatchStatus, DayStatus, SyncBatch, SyncDay
from uploads import selectors as upload_selectors

DAY_STATUS_TABLE = SyncDay._meta.db_table


def erp_day_tables() -> set[str]:
    """Tables filled by the ERP day sync: whatever the jobs writing the day status also write."""
    tables = set()
    for spec in registry.all_jobs():
        if DAY_STATUS_TABLE in spec.writes:
            tables.update(spec.writes)
    return tables - {DAY_STATUS_TABLE}


SYNC_DAY_FAILED = declare_rule(
    id="sync_day_failed",
    name=gettext_lazy("ERP 单日同步失败"),
    severity=Severity.CRITICAL,
    category="预警",
    advice=gettext_lazy("在同步页面查看错误并重新同步该日期；依赖该日数据的预警暂缓发送"),
    reads=[DAY_STATUS_TABLE],
    stale_tables_while_firing=erp_day_tables,
    inhibit_equal=["date"],
    evaluate=lambda now: failed_sync_days(),
)
SYNC_BATCH_FAILED = declare_rule(
    id="sync_batch_failed",
    name=gettext_lazy("ERP 批量同步失败"),
    severity=Severity.WARNING,
    category="预警",
    advice=gettext_lazy("在同步页面查看失败的日期，点“重试失败日期”"),
    reads=["sync_syncbatch", "sync_syncbatchday"],
    evaluate=lambda now: failed_sync_batches(),
)
YONYOU_TOKEN_FAILING = declare_rule(
    id="yonyou_token_failing",
    name=gettext_lazy("用友令牌获取失败"),
    severity=Severity.CRITICAL,
    category="预警",
    advice=gettext_lazy("检查用友开放平台的应用 key/secret 与网络；恢复前上传和同步都会失败"),
    reads=["upload_history", DAY_STATUS_TABLE],
    evaluate=lambda now: token_failing(now=now),
)


def failed_sync_days() -> list[Firing]:
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


def token_failing(now: datetime | None = None) -> list[Firing]:
    """No usable Yonyou token for longer than the threshold: every call since the last successful
    one (an upload or a sync day) failed on the token, and the first such failure is old enough."""
    now = now or timezone.now()
    minutes = threshold_value("token_failing_minutes")
    successes = [upload_selectors.last_erp_success(), selectors.last_erp_success()]
    last_success = max((at for at in successes if at is not None), default=None)
    firsts = [
        upload_selectors.first_token_failure(after=last_success),
        selectors.first_token_failure(after=last_success),
    ]
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
