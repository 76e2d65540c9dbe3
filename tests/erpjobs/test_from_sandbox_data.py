"""The ERP alert jobs on the sandbox's default data, synced over HTTP: each raises its alerts, lists
with the seed's name and time, and is held while the day's sync failed."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.alerting.jobs import evaluate_system_rules
from alerts.alerting.models import Alert
from alerts.alerting.suppression import holds
from erpjobs import jobs
from sync import services
from sync.models import DayStatus, MaterialStock, ProductionMaterialLine, SyncDay

pytestmark = pytest.mark.django_db

ARRIVALS_DAY = date(2026, 3, 9)
ORDERS_DAY = ARRIVALS_DAY - timedelta(days=7)  # the sandbox's arrivals refer to orders a week older
NOW = datetime(2026, 4, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

SEED_JOBS = {
    "generate_shortage_alerts": ("缺料预警生成", "0 7 * * *"),
    "daily_kit_check": ("每日齐套检查", "0 6 * * *"),
    "check_delivery_delay": ("到货延迟检查", "0 14 * * *"),
    "check_production_plan_alerts": ("生产计划预警", "0 11 * * *"),
    "check_overdue_receivable_alerts": ("逾期应收预警", "30 10 * * *"),
    "daily_spec_match_check": ("规格匹配检查", "0 9 * * *"),
    "check_outsourcing_delivery_alerts": ("外协交期预警", "0 15 * * *"),
    "check_work_report_timeout": ("报工超时提醒", "0 * * * *"),
    "run_ecn_scheduler": ("ECN超时检查", "0 9 * * *"),
    "check_equipment_maintenance_reminder": ("设备保养提醒服务", "30 8 * * *"),
    "sales_reminder_scan": ("销售提醒扫描", "0 9 * * *"),
}
# Jobs about orders that have not started yet.
MORNING_BEFORE = {"daily_kit_check", "daily_spec_match_check", "sales_reminder_scan"}


def test_jobs_list_with_the_seeds_names_and_times(staff_api):
    listed = {row["id"]: row for row in staff_api.get("/api/v1/scheduler/services/list").json()["services"]}
    report = {
        "generate_shortage_daily_report": ("缺料日报生成", "15 5 * * *"),
        "generate_production_daily_reports": ("生产日报自动生成", "0 5 * * *"),
    }
    for job_id, (name, cron) in (SEED_JOBS | report).items():
        assert (listed[job_id]["name"], listed[job_id]["default_cron"]) == (name, cron)


def test_each_job_raises_alerts_from_the_sandboxs_default_data(sandbox):
    for day in (ORDERS_DAY, ARRIVALS_DAY):
        assert services.sync_day(business_date=day).status == "success"
    below = MaterialStock.objects.filter(business_date=ARRIVALS_DAY).values_list("current_quantity", "safety_quantity")
    assert any(stock < safety for stock, safety in below) and any(stock >= safety for stock, safety in below)

    # The kit and spec checks look at orders about to start: run them the morning before they do.
    kit_now = datetime.combine(ARRIVALS_DAY - timedelta(days=1), time(6), tzinfo=ZoneInfo("Asia/Shanghai"))
    summaries = {
        job_id: getattr(jobs, job_id)(now=kit_now if job_id in MORNING_BEFORE else NOW) for job_id in SEED_JOBS
    }

    for job_id, summary in summaries.items():
        assert summary["raised"] > 0, job_id
        assert Alert.objects.filter(rule=job_id, status="firing").count() == summary["raised"]
    # Stock at or above safety is a near miss: fewer shortage alerts than (warehouse, material) pairs.
    pairs = MaterialStock.objects.filter(business_date=ARRIVALS_DAY).values("warehouse_name", "product_code")
    assert summaries["generate_shortage_alerts"]["raised"] < len({tuple(p.values()) for p in pairs})

    # Orders whose lines are all covered are near misses: fewer kit alerts than orders with lines.
    orders_with_lines = ProductionMaterialLine.objects.filter(business_date=ARRIVALS_DAY).values("order_code")
    assert 0 < summaries["daily_kit_check"]["raised"] < len({row["order_code"] for row in orders_with_lines})

    # A second run the same day opens nothing new.
    again = {
        job_id: getattr(jobs, job_id)(now=(kit_now if job_id in MORNING_BEFORE else NOW) + timedelta(hours=1))
        for job_id in SEED_JOBS
    }
    assert all(summary["raised"] == 0 and summary["resolved"] == 0 for summary in again.values())


def test_shortage_alerts_of_a_day_whose_sync_failed_are_held(sandbox):
    assert services.sync_day(business_date=ARRIVALS_DAY).status == "success"
    jobs.generate_shortage_alerts(now=NOW)
    SyncDay.objects.filter(sync_date=ARRIVALS_DAY).update(status=DayStatus.FAILED, error_code="http_503")
    evaluate_system_rules(now=NOW)

    shortages = list(Alert.objects.filter(rule="generate_shortage_alerts"))
    held = holds(shortages)
    assert shortages and {alert.pk for alert in shortages} == set(held)
    assert {hold.source_rule for hold in held.values()} == {"sync_day_failed"}


def test_a_sync_of_the_last_few_days_shows_late_deliveries_and_overdue_receivables_the_next_morning(sandbox):
    # What a new user does after `make run`: sync the last few days, look the next morning. The
    # sandbox's purchase orders arrive at least 5 days after they are placed and its invoices fall
    # due 30 days later, so without older cases in each day nothing would be late yet.
    last_day = date(2026, 11, 27)
    for back in range(3):
        assert services.sync_day(business_date=last_day - timedelta(days=back)).status == "success"
    next_morning = datetime.combine(last_day + timedelta(days=1), time(9), tzinfo=ZoneInfo("Asia/Shanghai"))

    assert jobs.check_delivery_delay(now=next_morning)["raised"] > 0
    assert jobs.check_overdue_receivable_alerts(now=next_morning)["raised"] > 0
    receivables = Alert.objects.filter(rule="check_overdue_receivable_alerts")
    # Severity follows a customer's oldest overdue bucket; every bucket is present in some detail.
    assert {"warning", "critical"} <= {alert.severity for alert in receivables}
    details = "".join(alert.detail for alert in receivables)
    assert all(f"{bucket} 天" in details for bucket in ("1-30", "31-60", "61-90", ">90"))
