"""The daily reports: the day's findings of the alert queries, stored as a row and sent as one
grouped WeCom markdown message through the outbox (exactly once per kind and day)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts import outbox
from alerts.models import Channel
from erpjobs import conditions
from erpjobs.models import DailyReport

LISTED = 15  # lines per section in the message; the stored content keeps them all


def _section(heading: str, items: list) -> list[str]:
    lines = [f"**{heading}（{len(items)}）**"]
    lines += [f"> {item['title']}" for item in items[:LISTED]]
    if len(items) > LISTED:
        lines.append(_("> …另有 %(count)s 条") % {"count": len(items) - LISTED})
    return lines


def generate_shortage_daily_report(*, now: datetime | None = None) -> DailyReport:
    """Today's shortages and unkitted production orders: stored (replacing an earlier run of the
    same day) and sent once to the default WeCom robot."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    shortages = [{"key": f.key, "title": f.title, "severity": f.severity} for f in conditions.shortages(today=today)]
    unkitted = [
        {"key": f.key, "title": f.title, "severity": f.severity} for f in conditions.kit_shortfalls(today=today)
    ]
    title = _("缺料日报 %(date)s") % {"date": today.isoformat()}
    markdown = "\n".join([f"## {title}", *_section(_("缺料物料"), shortages), *_section(_("未齐套生产订单"), unkitted)])
    robot = settings.ALERT_DEFAULT_ROBOT_KEY
    with transaction.atomic():
        report, _created = DailyReport.objects.update_or_create(
            kind=DailyReport.Kind.SHORTAGE,
            report_date=today,
            defaults={
                "content": {"shortages": shortages, "unkitted": unkitted},
                "markdown": markdown,
                "generated_at": now,
                "send_error": "" if robot else _("未配置企业微信机器人（ALERT_DEFAULT_ROBOT_KEY）"),
            },
        )
        if robot and report.notification_id is None:
            report.notification = outbox.enqueue_notification(
                channel=Channel.WECOM_ROBOT,
                address=robot,
                title=title,
                text=markdown,
                idempotency_key=f"erpjobs:report:shortage:{today.isoformat()}",
            )
            report.save(update_fields=["notification"])
    return report
