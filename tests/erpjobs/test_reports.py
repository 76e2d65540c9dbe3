"""The shortage daily report: a stored row with the day's shortages and unkitted orders, sent as one
grouped WeCom markdown message, once per day however often it runs."""

from datetime import timedelta

import pytest

from alerts.models import Notification
from erpjobs import jobs
from erpjobs.models import DailyReport

from .test_alert_jobs import NOW, TODAY, _line, _mo, _stock

pytestmark = pytest.mark.django_db


def test_the_shortage_report_is_stored_and_sent_once_per_day(settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = "production-group-robot"
    _stock("ST1", "一号仓", "M-1001", 40)
    _stock("ST2", "一号仓", "M-1002", 100)  # at safety stock: not listed
    _mo("MO-SHORT", TODAY + timedelta(days=1), TODAY + timedelta(days=9))
    _line("MO-SHORT", 1, "M-3005", 10)  # nothing in stock

    summary = jobs.generate_shortage_daily_report(now=NOW)
    again = jobs.generate_shortage_daily_report(now=NOW + timedelta(hours=1))

    report = DailyReport.objects.get()
    assert (report.kind, report.report_date) == ("shortage", TODAY)
    assert [row["key"] for row in report.content["shortages"]] == ["一号仓:M-1001", "demand:M-3005"]
    assert [row["key"] for row in report.content["unkitted"]] == ["MO-SHORT"]
    assert summary["shortages"] == 2 and summary["unkitted"] == 1
    notification = Notification.objects.get()
    assert again["notification_id"] == summary["notification_id"] == notification.pk
    assert (notification.channel, notification.address) == ("wecom_robot", "production-group-robot")
    assert "**缺料物料（2）**" in notification.text and "MO-SHORT" in notification.text


def test_without_a_robot_the_report_is_stored_with_the_reason_it_was_not_sent(settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = ""
    _stock("ST1", "一号仓", "M-1001", 40)

    summary = jobs.generate_shortage_daily_report(now=NOW)

    assert summary["notification_id"] is None
    assert "ALERT_DEFAULT_ROBOT_KEY" in DailyReport.objects.get().send_error
    assert not Notification.objects.exists()
