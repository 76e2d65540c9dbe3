"""The production daily report: yesterday's plan against finished per product, the shop floor's
reported output, the late orders, with exact values on hand-made rows; stored as the report of
that day and sent as one WeCom message, once."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from alerts.models import Notification
from erpjobs import jobs
from erpjobs.models import DailyReport
from sync.models import WorkReport

from .test_alert_jobs import NOW, TODAY, _doc, _mo

pytestmark = pytest.mark.django_db

YESTERDAY = TODAY - timedelta(days=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _report(code, order, qty, at):
    return _doc(WorkReport, code, order_code=order, quantity=Decimal(qty), reported_at=at, operator_name="王师傅")


def _order(code, product, finish, qty, done, status=1):
    order = _mo(code, finish - timedelta(days=5), finish, qty=qty, done=done, status=status)
    order.product_code, order.product_name = product, f"产品{product[-1]}"
    order.save()
    return order


def _figures():
    _order("MO-A1", "M-2001", YESTERDAY, 100, 100)
    _order("MO-A2", "M-2001", YESTERDAY, 50, 20)  # due yesterday, short: late by one day
    _order("MO-A3", "M-2001", YESTERDAY, 40, 60)  # finished beyond plan: counts 40
    _order("MO-OLD", "M-2003", YESTERDAY - timedelta(days=4), 30, 10)  # late 5 days
    _order("MO-NEXT", "M-2001", TODAY + timedelta(days=2), 70, 0)  # not due: neither plan nor late
    _order("MO-CLOSED", "M-2003", YESTERDAY - timedelta(days=8), 30, 0, status=2)  # closed: not late
    _report("WR-1", "MO-A2", 20, datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI))
    _report("WR-2", "MO-OLD", 10, datetime(2026, 3, 9, 23, 30, tzinfo=SHANGHAI))
    _report("WR-3", "MO-A1", 99, datetime(2026, 3, 10, 0, 30, tzinfo=SHANGHAI))  # today: not counted
    _report("WR-4", "MO-A1", 99, datetime(2026, 3, 8, 23, 59, tzinfo=SHANGHAI))  # the day before


def test_the_report_has_yesterdays_plan_finished_output_and_late_orders_exactly(settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = "production-group-robot"
    _figures()

    summary = jobs.generate_production_daily_reports(now=NOW)

    report = DailyReport.objects.get()
    assert (report.kind, report.report_date) == ("production", YESTERDAY)
    content = report.content
    assert [{k: v for k, v in row.items() if k != "title"} for row in content["products"]] == [
        {
            "product_code": "M-2001",
            "product_name": "产品1",
            "orders": 3,
            "planned": "190",
            "finished": "160",
            "rate": "84.2",
            "reported": "20",
        },
        {
            "product_code": "M-2003",
            "product_name": "",
            "orders": 0,
            "planned": "0",
            "finished": "0",
            "rate": None,
            "reported": "10",
        },
    ]
    assert [(row["code"], row["days_late"], row["finished"], row["planned"]) for row in content["late_orders"]] == [
        ("MO-OLD", 5, "10", "30"),
        ("MO-A2", 1, "20", "50"),
    ]
    assert content["totals"] == {
        "orders": 3,
        "planned": "190",
        "finished": "160",
        "rate": "84.2",
        "reported": "30",
        "late_orders": 2,
    }
    assert summary["completion_rate"] == "84.2" and summary["late_orders"] == 2

    notification = Notification.objects.get()
    assert (notification.channel, notification.address) == ("wecom_robot", "production-group-robot")
    assert notification.title == "生产日报 2026-03-09"
    text = notification.text
    assert "计划完工 3 张订单：计划 190，完工 160，完成率 84.2%；当日报工 30" in text
    assert "**按产品（2）**" in text and "> M-2001 产品1：计划 190，完工 160（84.2%），报工 20" in text
    assert "**延期订单（2）**" in text and "> MO-OLD 产品3 计划完工 2026-03-05，完工 10 / 30，延期 5 天" in text


def test_a_rerun_the_same_day_updates_the_report_and_sends_nothing_more(settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = "production-group-robot"
    _figures()
    first = jobs.generate_production_daily_reports(now=NOW)

    _report("WR-5", "MO-A2", 5, datetime(2026, 3, 9, 16, 0, tzinfo=SHANGHAI))
    again = jobs.generate_production_daily_reports(now=NOW + timedelta(hours=1))

    assert again["notification_id"] == first["notification_id"] == Notification.objects.get().pk
    assert DailyReport.objects.get().content["totals"]["reported"] == "35"


def test_a_day_with_nothing_planned_says_so_without_a_rate(settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = ""

    summary = jobs.generate_production_daily_reports(now=NOW)

    report = DailyReport.objects.get()
    assert report.content["totals"] == {
        "orders": 0,
        "planned": "0",
        "finished": "0",
        "rate": None,
        "reported": "0",
        "late_orders": 0,
    }
    assert "完成率 -" in report.markdown and summary["send_error"]
