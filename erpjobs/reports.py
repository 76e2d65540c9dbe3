"""The daily reports: the shortage report (the day's findings of the alert queries) and the
production report (yesterday's figures), each stored as a row and sent as one grouped WeCom
markdown message through the outbox (exactly once per kind and day)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts import outbox
from alerts.alerting.thresholds import threshold_value
from alerts.models import Channel
from erpjobs import conditions, kit_rates, selectors
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
    wanted_rate = Decimal(str(threshold_value("kit_rate_pct")))
    rates = kit_rates.kit_rates_of(today, now=now)
    unkitted = [
        {
            "key": row.order_code,
            "title": _("生产订单 %(code)s %(name)s 将于 %(start)s 开工，齐套率 %(rate)s%%")
            % {"code": row.order_code, "name": row.product_name, "start": row.start_date, "rate": row.rate},
            "rate": str(row.rate),
            "start_date": row.start_date.isoformat(),
            "missing": row.missing,
        }
        for row in rates
        if row.rate < wanted_rate
    ]
    kitting = {
        "orders": len(rates),
        "kitted": sum(1 for row in rates if row.rate >= wanted_rate),
        "average_rate": str((sum(row.rate for row in rates) / len(rates)).quantize(Decimal("0.1"))) if rates else None,
    }
    title = _("缺料日报 %(date)s") % {"date": today.isoformat()}
    kitting_line = _("近期开工订单 %(orders)s 张，已齐套 %(kitted)s 张，平均齐套率 %(rate)s%%") % {
        "orders": kitting["orders"],
        "kitted": kitting["kitted"],
        "rate": kitting["average_rate"] or "-",
    }
    markdown = "\n".join(
        [
            f"## {title}",
            *_section(_("缺料物料"), shortages),
            *_section(_("未齐套生产订单"), unkitted),
            kitting_line,
        ]
    )
    return _store_and_send(
        kind=DailyReport.Kind.SHORTAGE,
        day=today,
        title=title,
        content={"shortages": shortages, "unkitted": unkitted, "kitting": kitting},
        markdown=markdown,
        now=now,
    )


def generate_production_daily_report(*, now: datetime | None = None) -> DailyReport:
    """Yesterday's production (plan against finished per product, the shop floor's reported
    output, open orders late): stored as the report of that day and sent once to the WeCom robot."""
    now = now or timezone.now()
    day = timezone.localdate(now) - timedelta(days=1)
    figures = selectors.production_of_day(day)
    for row in figures["products"]:
        row["title"] = _("%(code)s %(name)s：计划 %(planned)s，完工 %(finished)s（%(rate)s），报工 %(reported)s") % {
            **row,
            "name": row["product_name"],
            "code": row["product_code"],
            "rate": f"{row['rate']}%" if row["rate"] is not None else "-",
        }
    for row in figures["late_orders"]:
        row["title"] = _("%(code)s %(name)s 计划完工 %(date)s，完工 %(finished)s / %(planned)s，延期 %(days)s 天") % {
            **row,
            "name": row["product_name"] or row["product_code"],
            "date": row["finish_date"],
            "days": row["days_late"],
        }
    totals = figures["totals"]
    title = _("生产日报 %(date)s") % {"date": day.isoformat()}
    summary = _(
        "计划完工 %(orders)s 张订单：计划 %(planned)s，完工 %(finished)s，完成率 %(rate)s；当日报工 %(reported)s"
    ) % {
        **totals,
        "rate": f"{totals['rate']}%" if totals["rate"] is not None else "-",
    }
    markdown = "\n".join(
        [
            f"## {title}",
            summary,
            *_section(_("按产品"), figures["products"]),
            *_section(_("延期订单"), figures["late_orders"]),
        ]
    )
    return _store_and_send(
        kind=DailyReport.Kind.PRODUCTION, day=day, title=title, content=figures, markdown=markdown, now=now
    )


def _store_and_send(*, kind: str, day: date, title: str, content: dict, markdown: str, now: datetime) -> DailyReport:
    """Store the report of `kind` and `day` (replacing an earlier run's) and, in the same
    transaction, queue its one WeCom message; a re-run sends nothing more (idempotency key)."""
    robot = settings.ALERT_DEFAULT_ROBOT_KEY
    with transaction.atomic():
        report, _created = DailyReport.objects.update_or_create(
            kind=kind,
            report_date=day,
            defaults={
                "content": content,
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
                idempotency_key=f"erpjobs:report:{kind}:{day.isoformat()}",
            )
            report.save(update_fields=["notification"])
    return report
