"""Kit rates in their own table: `daily_kit_check` stores one row per order starting within its
window (kitted or not) per day, a re-run replaces the day's rows, and the shortage daily report
reads them."""

from datetime import timedelta
from decimal import Decimal

import pytest

from erpjobs import jobs, kit_rates
from erpjobs.models import DailyReport, KitRate

from .test_alert_jobs import NOW, TODAY, _line, _mo, _po, _stock

pytestmark = pytest.mark.django_db


def _orders():
    _stock("ST1", "一号仓", "M-1001", 80)
    _stock("ST3", "一号仓", "M-1002", 10)
    _po("PO-OPEN", TODAY + timedelta(days=1), qty=40)  # M-1001: 120 available by then
    _mo("MO-SHORT", TODAY + timedelta(days=1), TODAY + timedelta(days=9))
    _line("MO-SHORT", 1, "M-1001", 100)
    _line("MO-SHORT", 2, "M-1002", 30, issued=10)  # 20 needed, 10 in stock
    _line("MO-SHORT", 3, "M-1002", 5)  # 5 needed, 10 in stock (each order sees all the stock)
    _mo("MO-KITTED", TODAY + timedelta(days=2), TODAY + timedelta(days=9))
    _line("MO-KITTED", 1, "M-1001", 120)
    _mo("MO-FAR", TODAY + timedelta(days=4), TODAY + timedelta(days=9))
    _line("MO-FAR", 1, "M-1002", 500)  # beyond the 3-day window


def test_the_kit_check_stores_each_orders_rate_of_the_day_and_a_rerun_replaces_them():
    _orders()

    summary = jobs.daily_kit_check(now=NOW)

    rows = {row.order_code: row for row in KitRate.objects.filter(check_date=TODAY)}
    assert set(rows) == {"MO-SHORT", "MO-KITTED"}
    short = rows["MO-SHORT"]
    assert (short.lines, short.covered_lines, short.rate) == (3, 2, Decimal("66.7"))
    assert short.missing == ["M-1002 缺 10"] and short.start_date == TODAY + timedelta(days=1)
    assert (rows["MO-KITTED"].covered_lines, rows["MO-KITTED"].rate) == (1, Decimal("100.0"))
    assert summary["kit_rates_stored"] == 2 and summary["raised"] == 1

    # Stock arrives; the same day's re-run keeps one row per order, now kitted.
    _stock("ST4", "一号仓", "M-1002", 100, day=TODAY)
    _stock("ST5", "一号仓", "M-1001", 120, day=TODAY)
    jobs.daily_kit_check(now=NOW + timedelta(hours=1))
    assert KitRate.objects.filter(check_date=TODAY).count() == 2
    assert set(KitRate.objects.values_list("rate", flat=True)) == {Decimal("100.0")}

    # The next day is a row of its own: rates are kept per day.
    jobs.daily_kit_check(now=NOW + timedelta(days=1))
    assert set(KitRate.objects.values_list("check_date", flat=True)) == {TODAY, TODAY + timedelta(days=1)}


def test_the_shortage_report_lists_the_stored_rates_and_computes_them_when_the_check_did_not_run(settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = ""
    _orders()

    # Not run yet today: the report stores the day's rates itself.
    jobs.generate_shortage_daily_report(now=NOW)
    assert KitRate.objects.filter(check_date=TODAY).count() == 2
    content = DailyReport.objects.get().content
    assert [row["key"] for row in content["unkitted"]] == ["MO-SHORT"]
    assert content["unkitted"][0]["rate"] == "66.7" and content["unkitted"][0]["missing"] == ["M-1002 缺 10"]
    assert content["kitting"] == {"orders": 2, "kitted": 1, "average_rate": "83.4"}

    # The report reads the table: what the kit check stored is what it says.
    KitRate.objects.filter(order_code="MO-KITTED").update(rate=Decimal("50.0"), covered_lines=0)
    jobs.generate_shortage_daily_report(now=NOW + timedelta(hours=1))
    content = DailyReport.objects.get().content
    assert [row["key"] for row in content["unkitted"]] == ["MO-KITTED", "MO-SHORT"]
    assert "平均齐套率 58.4%" in DailyReport.objects.get().markdown
    assert [row.order_code for row in kit_rates.kit_rates_of(TODAY)] == ["MO-KITTED", "MO-SHORT"]
