"""The ERP business jobs (autodiscovered by alerts.registry): each is its seed id, Chinese name and
time, then one set-based query (`erpjobs.conditions`) handed to `evaluate_rule`, which raises new
keys, refreshes known ones and resolves the rest. `now` is a parameter for tests; the scheduler
calls them without arguments."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.utils import timezone

from alerts.alerting.lifecycle import evaluate_rule
from alerts.alerting.messages import in_site_language
from alerts.alerting.rules import get_rule
from alerts.registry import job
from erpjobs import conditions, kit_rates, reports


@in_site_language
def _evaluate(rule: str, query, now: datetime | None) -> dict:
    now = now or timezone.now()
    firing = query(today=timezone.localdate(now))
    summary = evaluate_rule(rule=rule, firing=firing, now=now).as_dict()
    # A query that leaves the severity to its rule gets the rule's (as the alert does), so the
    # summary never counts "firing_None".
    default = get_rule(rule).severity
    by_severity = Counter(item.severity or default for item in firing)
    return {
        "firing": len(firing),
        **{f"firing_{name}": count for name, count in sorted(by_severity.items())},
        **summary,
    }


@job(
    id="generate_shortage_alerts",
    name="缺料预警生成",
    cron="0 7 * * *",
    category="预警",
    reads=["sync_materialstock", "sync_productionorder", "sync_productionmaterialline"],
    writes=["alerts_alert"],
    description="最新库存快照中，现存量低于安全库存的物料（按仓库），或未完工生产订单的未领用料需求超过现存量的物料，"
    "产生缺料预警；到货补足或领料后自动恢复",
)
def generate_shortage_alerts(now: datetime | None = None) -> dict:
    return _evaluate("generate_shortage_alerts", conditions.shortages, now)


@job(
    id="daily_kit_check",
    name="每日齐套检查",
    cron="0 6 * * *",
    category="预警",
    reads=[
        "sync_productionorder",
        "sync_productionmaterialline",
        "sync_materialstock",
        "sync_purchaseorder",
        "sync_purchasearrival",
    ],
    writes=["alerts_alert", "erpjobs_kitrate"],
    description="几天内开工的生产订单，用料未被库存与在途采购完全覆盖的，按齐套率预警；每张订单当天的齐套率另存一行",
)
@in_site_language
def daily_kit_check(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    today = timezone.localdate(now)
    kits = conditions.order_kits(today=today)
    stored = kit_rates.record_kit_rates(today=today, kits=kits, now=now)
    return {
        **_evaluate("daily_kit_check", lambda today: conditions.kit_shortfalls(today=today, kits=kits), now),
        "kit_rates_stored": stored,
    }


@job(
    id="check_delivery_delay",
    name="到货延迟检查",
    cron="0 14 * * *",
    category="预警",
    reads=["sync_purchaseorder", "sync_purchasearrival"],
    writes=["alerts_alert"],
    description="已过计划到货日（含宽限天数）而到货数量不足的采购订单；到齐或关闭后自动恢复",
)
def check_delivery_delay(now: datetime | None = None) -> dict:
    return _evaluate("check_delivery_delay", conditions.late_deliveries, now)


@job(
    id="check_production_plan_alerts",
    name="生产计划预警",
    cron="0 11 * * *",
    category="预警",
    reads=["sync_productionorder"],
    writes=["alerts_alert"],
    description="超过计划完工日仍未完工，或完工进度落后于时间进度的生产订单",
)
def check_production_plan_alerts(now: datetime | None = None) -> dict:
    return _evaluate("check_production_plan_alerts", conditions.production_behind_plan, now)


@job(
    id="check_outsourcing_delivery_alerts",
    name="外协交期预警",
    cron="0 15 * * *",
    category="预警",
    reads=["sync_outsourcingorder"],
    writes=["alerts_alert"],
    description="几天内到期或已逾期、尚未收齐的委外订单；收齐或关闭后自动恢复",
)
def check_outsourcing_delivery_alerts(now: datetime | None = None) -> dict:
    return _evaluate("check_outsourcing_delivery_alerts", conditions.outsourcing_due, now)


@job(
    id="check_overdue_receivable_alerts",
    name="逾期应收预警",
    cron="30 10 * * *",
    category="预警",
    reads=["sync_receivable"],
    writes=["alerts_alert"],
    description="按客户汇总已过到期日的未收余额，按账龄段（1–30、31–60、61–90、90 天以上）分级预警",
)
def check_overdue_receivable_alerts(now: datetime | None = None) -> dict:
    return _evaluate("check_overdue_receivable_alerts", conditions.overdue_receivables, now)


@job(
    id="daily_spec_match_check",
    name="规格匹配检查",
    cron="0 9 * * *",
    category="预警",
    reads=["sync_productionorder", "sync_productionmaterialline", "sync_purchaseorder"],
    writes=["alerts_alert"],
    description="在途采购订单的物料规格与近期开工生产订单用料要求的规格不一致的，产生预警",
)
def daily_spec_match_check(now: datetime | None = None) -> dict:
    return _evaluate("daily_spec_match_check", conditions.specification_mismatches, now)


@job(
    id="check_work_report_timeout",
    name="报工超时提醒",
    cron="0 * * * *",
    category="预警",
    reads=["sync_productionorder", "sync_workreport"],
    writes=["alerts_alert"],
    description="在制生产订单超过设定小时数没有报工的，提醒车间；有新报工或完工后自动恢复",
)
def check_work_report_timeout(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return _evaluate("check_work_report_timeout", lambda today: conditions.silent_production_orders(now=now), now)


@job(
    id="run_ecn_scheduler",
    name="ECN超时检查",
    cron="0 9 * * *",
    category="预警",
    reads=["sync_engineeringchange"],
    writes=["alerts_alert"],
    description="待审批或待实施超过期限的工程变更单；完成后自动恢复",
)
def run_ecn_scheduler(now: datetime | None = None) -> dict:
    return _evaluate("run_ecn_scheduler", conditions.overdue_engineering_changes, now)


@job(
    id="check_equipment_maintenance_reminder",
    name="设备保养提醒服务",
    cron="30 8 * * *",
    category="预警",
    reads=["sync_equipmentmaintenanceplan"],
    writes=["alerts_alert"],
    description="几天内到期或已超期的设备保养计划；登记保养、计划顺延后自动恢复",
)
def check_equipment_maintenance_reminder(now: datetime | None = None) -> dict:
    return _evaluate("check_equipment_maintenance_reminder", conditions.maintenance_due, now)


@job(
    id="sales_reminder_scan",
    name="销售提醒扫描",
    cron="0 9 * * *",
    category="预警",
    reads=["sync_salesorder", "sync_productionorder", "sync_materialstock", "sync_quotation", "sync_opportunity"],
    writes=["alerts_alert"],
    description="近期交货但既无在产也无库存的销售订单、即将失效的报价单、多日未跟进的商机",
)
def sales_reminder_scan(now: datetime | None = None) -> dict:
    return _evaluate("sales_reminder_scan", conditions.sales_reminders, now)


@job(
    id="generate_shortage_daily_report",
    name="缺料日报生成",
    cron="15 5 * * *",
    category="汇总",
    reads=[
        "sync_materialstock",
        "sync_productionorder",
        "sync_productionmaterialline",
        "sync_purchaseorder",
        "sync_purchasearrival",
    ],
    writes=["erpjobs_dailyreport", "alerts_notification"],
    description="当天的缺料物料与未齐套生产订单：保存为日报，并以一条企业微信消息发送（同一天只发一次）",
)
@in_site_language
def generate_shortage_daily_report(now: datetime | None = None) -> dict:
    report = reports.generate_shortage_daily_report(now=now)
    return {
        "report_id": report.pk,
        "shortages": len(report.content["shortages"]),
        "unkitted": len(report.content["unkitted"]),
        "notification_id": report.notification_id,
        "send_error": report.send_error,
    }


@job(
    id="generate_production_daily_reports",
    name="生产日报自动生成",
    cron="0 5 * * *",
    category="汇总",
    reads=["sync_productionorder", "sync_workreport"],
    writes=["erpjobs_dailyreport", "alerts_notification"],
    description="昨天的生产情况：按产品的计划与完工数量、完成率、当日报工，以及延期未完工的生产订单；"
    "保存为日报，并以一条企业微信消息发送（同一天只发一次）",
)
@in_site_language
def generate_production_daily_reports(now: datetime | None = None) -> dict:
    report = reports.generate_production_daily_report(now=now)
    return {
        "report_id": report.pk,
        "report_date": report.report_date.isoformat(),
        "products": len(report.content["products"]),
        "late_orders": len(report.content["late_orders"]),
        "completion_rate": report.content["totals"]["rate"],
        "notification_id": report.notification_id,
        "send_error": report.send_error,
    }
