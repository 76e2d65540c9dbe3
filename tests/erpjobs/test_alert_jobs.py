"""The ERP alert jobs over synced rows: per job the cases that fire, the near misses that do not,
resolution when the condition clears, a threshold change taking effect, and one open alert per key
across runs. Rows are written as the day sync writes them; `now` is fixed (no wall clock)."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from alerts.alerting.models import Alert
from alerts.alerting.thresholds import set_threshold
from erpjobs import jobs
from sync.models import (
    EngineeringChange,
    EquipmentMaintenancePlan,
    MaterialStock,
    Opportunity,
    OutsourcingOrder,
    ProductionMaterialLine,
    ProductionOrder,
    PurchaseArrival,
    PurchaseOrder,
    Quotation,
    Receivable,
    SalesOrder,
    WorkReport,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = date(2026, 3, 10)


def _doc(model, code, day=TODAY - timedelta(days=1), **fields):
    return model.objects.create(code=code, remote_id=code, business_date=day, synced_at=timezone.now(), **fields)


def _open(rule):
    return {alert.key: alert for alert in Alert.objects.filter(rule=rule, status__in=["firing", "acknowledged"])}


# --- generate_shortage_alerts -----------------------------------------------------------------


def _stock(code, warehouse, product, current, safety=100, day=TODAY - timedelta(days=1)):
    return _doc(
        MaterialStock,
        code,
        day,
        warehouse_name=warehouse,
        product_code=product,
        product_name="冷轧钢板",
        current_quantity=Decimal(current),
        safety_quantity=Decimal(safety),
    )


def test_shortage_fires_below_safety_stock_not_at_it_and_resolves_when_stock_arrives():
    _stock("ST1", "一号仓", "M-1001", 40)  # 40 % of safety: critical
    _stock("ST2", "一号仓", "M-1002", 99)  # just below: warning
    _stock("ST3", "二号仓", "M-1001", 100)  # at safety stock: near miss
    _stock("ST0", "二号仓", "M-2001", 1, day=TODAY - timedelta(days=2))  # an older snapshot: not current

    summary = jobs.generate_shortage_alerts(now=NOW)

    alerts = _open("generate_shortage_alerts")
    assert set(alerts) == {"一号仓:M-1001", "一号仓:M-1002"}
    assert alerts["一号仓:M-1001"].severity == "critical"
    assert alerts["一号仓:M-1002"].severity == "warning"
    assert alerts["一号仓:M-1001"].labels == {"warehouse": "一号仓", "material": "M-1001", "date": "2026-03-09"}
    assert summary["firing"] == 2 and summary["raised"] == 2

    # The next day's snapshot: stock arrived for one of them.
    _stock("ST4", "一号仓", "M-1001", 150, day=TODAY)
    _stock("ST5", "一号仓", "M-1002", 20, day=TODAY)
    summary = jobs.generate_shortage_alerts(now=NOW + timedelta(days=1))

    assert set(_open("generate_shortage_alerts")) == {"一号仓:M-1002"}
    assert Alert.objects.get(rule="generate_shortage_alerts", key="一号仓:M-1001").status == "resolved"
    assert summary == {"firing": 1, "firing_critical": 1, "raised": 0, "refreshed": 1, "resolved": 1}


def test_shortage_persisting_over_two_runs_is_one_alert_and_the_threshold_is_read_at_run_time():
    _stock("ST1", "一号仓", "M-1001", 90)
    jobs.generate_shortage_alerts(now=NOW)
    jobs.generate_shortage_alerts(now=NOW + timedelta(hours=1))
    assert Alert.objects.filter(rule="generate_shortage_alerts").count() == 1
    assert Alert.objects.get(rule="generate_shortage_alerts").occurrences == 2

    set_threshold(key="shortage_safety_pct", value=80)  # only below 80 % of safety stock
    jobs.generate_shortage_alerts(now=NOW + timedelta(hours=2))
    assert _open("generate_shortage_alerts") == {}


def test_open_production_demand_above_stock_fires_per_material_and_resolves_when_issued():
    _stock("ST1", "一号仓", "M-3001", 30, safety=0)  # no safety stock: only the demand counts
    _stock("ST2", "二号仓", "M-3001", 20, safety=0)  # 50 in stock over both warehouses
    _stock("ST3", "一号仓", "M-3002", 40, safety=0)
    _stock("ST4", "一号仓", "M-3003", 5, safety=0)
    _mo("MO-1", TODAY + timedelta(days=2), TODAY + timedelta(days=9))
    _mo("MO-2", TODAY + timedelta(days=20), TODAY + timedelta(days=30))
    _mo("MO-DONE", TODAY - timedelta(days=9), TODAY - timedelta(days=2), done=100)  # finished: no demand
    _mo("MO-CLOSED", TODAY - timedelta(days=9), TODAY + timedelta(days=2), status=2)  # closed: no demand
    _line("MO-1", 1, "M-3001", 40, issued=10)  # 30 still to draw
    _line("MO-2", 1, "M-3001", 25)  # + 25 = 55 > 50 in stock: fires (stock covers 91 %: warning)
    _line("MO-1", 2, "M-3002", 40)  # 40 = 40 in stock: near miss
    _line("MO-2", 2, "M-3002", 10, issued=15)  # over-issued: counts 0, not -5
    _line("MO-1", 3, "M-3003", 12)  # 12 > 5: stock covers 42 %, below 50 %: critical
    _line("MO-DONE", 1, "M-3002", 500)
    _line("MO-CLOSED", 1, "M-3002", 500)

    jobs.generate_shortage_alerts(now=NOW)

    alerts = _open("generate_shortage_alerts")
    assert set(alerts) == {"demand:M-3001", "demand:M-3003"}
    assert (alerts["demand:M-3001"].severity, alerts["demand:M-3003"].severity) == ("warning", "critical")
    assert "生产需求 55 超过现存 50（2 张生产订单）" in alerts["demand:M-3001"].title
    assert alerts["demand:M-3001"].labels == {"material": "M-3001", "date": "2026-03-09"}

    # Material issued to the shop floor leaves the stock and the demand alike; MO-2 is issued in
    # full from a new delivery: 30 to draw against 35 in stock.
    _stock("ST5", "一号仓", "M-3001", 35, safety=0, day=TODAY)
    _stock("ST6", "一号仓", "M-3003", 50, safety=0, day=TODAY)
    _stock("ST7", "一号仓", "M-3002", 40, safety=0, day=TODAY)
    ProductionMaterialLine.objects.filter(code="MO-2-1").update(issued_quantity=25)
    summary = jobs.generate_shortage_alerts(now=NOW + timedelta(days=1))

    assert _open("generate_shortage_alerts") == {}
    assert summary["resolved"] == 2


def test_demand_without_any_stock_snapshot_fires_without_a_date_label():
    _mo("MO-1", TODAY + timedelta(days=2), TODAY + timedelta(days=9))
    _line("MO-1", 1, "M-3005", 10)

    jobs.generate_shortage_alerts(now=NOW)

    alert = Alert.objects.get(rule="generate_shortage_alerts")
    assert (alert.key, alert.severity, alert.labels) == ("demand:M-3005", "critical", {"material": "M-3005"})


def test_the_shortage_query_count_does_not_grow_with_the_materials():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from erpjobs import conditions

    def queries(materials: int) -> int:
        for index in range(materials):
            _stock(f"ST-{materials}-{index}", "一号仓", f"M-{materials}-{index}", 1)
            _mo(f"MO-{materials}-{index}", TODAY, TODAY + timedelta(days=3))
            _line(f"MO-{materials}-{index}", 1, f"M-{materials}-{index}", 10)
        with CaptureQueriesContext(connection) as captured:
            found = conditions.shortages(today=TODAY)
        assert len(found) >= 2 * materials
        return len(captured)

    assert queries(2) == queries(20)


# --- check_delivery_delay ---------------------------------------------------------------------


def _po(code, arrival, qty=100, status=1, vendor="苏州恒达钢材有限公司", product="M-1001", specification=""):
    return _doc(
        PurchaseOrder,
        code,
        specification=specification,
        vendor_name=vendor,
        product_code=product,
        product_name="冷轧钢板",
        quantity=Decimal(qty),
        status=status,
        arrival_date=arrival,
    )


def _arrival(code, order_code, qty):
    return _doc(PurchaseArrival, code, source_order_code=order_code, product_code="M-1001", quantity=Decimal(qty))


def test_late_purchase_lines_short_of_their_quantity_fire_by_lateness_and_resolve_once_arrived():
    _po("PO-LATE", TODAY - timedelta(days=10))  # nothing arrived, 10 days late: critical
    _po("PO-PART", TODAY - timedelta(days=2))
    _arrival("PA-1", "PO-PART", 60)
    _arrival("PA-2", "PO-PART", 30)  # 90 of 100: short
    _po("PO-FULL", TODAY - timedelta(days=5))
    _arrival("PA-3", "PO-FULL", 100)  # arrived in full: near miss
    _po("PO-TODAY", TODAY)  # due today: not late yet
    _po("PO-CLOSED", TODAY - timedelta(days=9), status=2)  # closed: owes nothing

    jobs.check_delivery_delay(now=NOW)

    alerts = _open("check_delivery_delay")
    assert set(alerts) == {"PO-LATE", "PO-PART"}
    assert (alerts["PO-LATE"].severity, alerts["PO-PART"].severity) == ("critical", "warning")
    assert alerts["PO-PART"].labels["vendor"] == "苏州恒达钢材有限公司"
    assert "到货 90 / 100" in alerts["PO-PART"].title

    _arrival("PA-4", "PO-PART", 10)
    jobs.check_delivery_delay(now=NOW + timedelta(hours=1))
    assert set(_open("check_delivery_delay")) == {"PO-LATE"}
    assert Alert.objects.filter(rule="check_delivery_delay", key="PO-LATE").count() == 1


def test_delivery_grace_and_tolerance_are_read_at_run_time():
    _po("PO-PART", TODAY - timedelta(days=2))
    _arrival("PA-1", "PO-PART", 95)
    jobs.check_delivery_delay(now=NOW)
    assert set(_open("check_delivery_delay")) == {"PO-PART"}

    set_threshold(key="delivery_shortfall_tolerance_pct", value=5)  # 95 of 100 is within 5 %
    jobs.check_delivery_delay(now=NOW)
    assert _open("check_delivery_delay") == {}

    set_threshold(key="delivery_shortfall_tolerance_pct", value=0)
    set_threshold(key="delivery_delay_grace_days", value=2)  # 2 days late is within the grace
    jobs.check_delivery_delay(now=NOW)
    assert _open("check_delivery_delay") == {}


# --- check_production_plan_alerts -------------------------------------------------------------


def _mo(code, start, finish, qty=100, done=0, status=1):
    return _doc(
        ProductionOrder,
        code,
        product_code="M-2001",
        product_name="控制柜外壳",
        quantity=Decimal(qty),
        finished_quantity=Decimal(done),
        start_date=start,
        finish_date=finish,
        status=status,
    )


def test_production_orders_late_or_behind_their_elapsed_time_fire_and_resolve_when_finished():
    _mo("MO-LATE", TODAY - timedelta(days=20), TODAY - timedelta(days=5), done=80)  # late > 3 days: critical
    _mo("MO-BEHIND", TODAY - timedelta(days=5), TODAY + timedelta(days=5), done=20)  # 50 % elapsed, 20 % done
    _mo("MO-NEAR", TODAY - timedelta(days=5), TODAY + timedelta(days=5), done=31)  # 19 points behind: near miss
    _mo("MO-DONE", TODAY - timedelta(days=20), TODAY - timedelta(days=5), done=100)  # finished
    _mo("MO-CLOSED", TODAY - timedelta(days=20), TODAY - timedelta(days=5), status=2)
    _mo("MO-FUTURE", TODAY + timedelta(days=1), TODAY + timedelta(days=9))  # not started

    jobs.check_production_plan_alerts(now=NOW)

    alerts = _open("check_production_plan_alerts")
    assert set(alerts) == {"MO-LATE", "MO-BEHIND"}
    assert (alerts["MO-LATE"].severity, alerts["MO-BEHIND"].severity) == ("critical", "warning")
    assert "时间已过 50%，完工 20%" in alerts["MO-BEHIND"].title

    ProductionOrder.objects.filter(code="MO-BEHIND").update(finished_quantity=60)
    jobs.check_production_plan_alerts(now=NOW + timedelta(hours=1))
    jobs.check_production_plan_alerts(now=NOW + timedelta(hours=2))
    assert set(_open("check_production_plan_alerts")) == {"MO-LATE"}
    assert Alert.objects.filter(rule="check_production_plan_alerts").count() == 2

    set_threshold(key="production_lag_pct", value=10)  # now 19 points behind is too many
    jobs.check_production_plan_alerts(now=NOW + timedelta(hours=3))
    assert set(_open("check_production_plan_alerts")) == {"MO-LATE", "MO-NEAR"}


# --- check_overdue_receivable_alerts ----------------------------------------------------------


def _ar(code, customer, due, balance, customer_id=None):
    return _doc(
        Receivable,
        code,
        customer_id=customer_id or customer,
        customer_name=customer,
        amount=Decimal(balance),
        balance=Decimal(balance),
        due_date=due,
    )


def test_overdue_receivables_fire_per_customer_by_ageing_bucket_and_resolve_when_paid():
    _ar("AR1", "华东精密", TODAY - timedelta(days=10), 1000)
    _ar("AR2", "华东精密", TODAY - timedelta(days=95), 500)  # > 90 days: critical
    _ar("AR3", "北京云帆", TODAY - timedelta(days=1), 200)  # 1-30: info
    _ar("AR4", "深圳海川", TODAY, 900)  # due today: near miss
    _ar("AR5", "武汉长江", TODAY - timedelta(days=40), 0)  # paid

    jobs.check_overdue_receivable_alerts(now=NOW)

    alerts = _open("check_overdue_receivable_alerts")
    assert set(alerts) == {"华东精密", "北京云帆"}
    assert (alerts["华东精密"].severity, alerts["北京云帆"].severity) == ("critical", "info")
    assert alerts["华东精密"].labels["ageing"] == ">90"
    assert alerts["华东精密"].detail == "1-30 天：1000.00 元；>90 天：500.00 元"

    Receivable.objects.filter(code="AR3").update(balance=0)
    jobs.check_overdue_receivable_alerts(now=NOW + timedelta(hours=1))
    assert set(_open("check_overdue_receivable_alerts")) == {"华东精密"}
    assert Alert.objects.filter(rule="check_overdue_receivable_alerts", key="华东精密").count() == 1

    set_threshold(key="receivable_min_balance", value=2000)
    jobs.check_overdue_receivable_alerts(now=NOW + timedelta(hours=2))
    assert _open("check_overdue_receivable_alerts") == {}


def test_ageing_buckets_are_read_at_run_time():
    _ar("AR1", "华东精密", TODAY - timedelta(days=45), 1000)
    jobs.check_overdue_receivable_alerts(now=NOW)
    assert _open("check_overdue_receivable_alerts")["华东精密"].labels["ageing"] == "31-60"

    set_threshold(key="receivable_bucket_1_days", value=50)
    jobs.check_overdue_receivable_alerts(now=NOW)
    assert _open("check_overdue_receivable_alerts")["华东精密"].labels["ageing"] == "1-50"


# --- daily_kit_check --------------------------------------------------------------------------


def _line(order, n, product, required, issued=0, specification=""):
    return _doc(
        ProductionMaterialLine,
        f"{order}-{n}",
        order_code=order,
        line_number=n,
        product_code=product,
        product_name=product,
        required_quantity=Decimal(required),
        issued_quantity=Decimal(issued),
        specification=specification,
    )


def test_orders_starting_soon_without_their_materials_fire_by_kit_rate_and_resolve_when_covered():
    _stock("ST1", "一号仓", "M-1001", 50)
    _stock("ST2", "二号仓", "M-1001", 30)  # 80 in stock over both warehouses
    _stock("ST3", "一号仓", "M-1002", 10)
    _po("PO-OPEN", TODAY + timedelta(days=1), qty=40)  # M-1001 owed 40 by then: 120 available
    _mo("MO-SHORT", TODAY + timedelta(days=1), TODAY + timedelta(days=9))
    _line("MO-SHORT", 1, "M-1001", 100)  # covered: 100 <= 120
    _line("MO-SHORT", 2, "M-1002", 30, issued=10)  # 20 needed, 10 in stock: short
    _mo("MO-LATER", TODAY + timedelta(days=2), TODAY + timedelta(days=9))
    _line("MO-LATER", 1, "M-1002", 50)  # short, starts in 2 days: warning
    _mo("MO-KITTED", TODAY + timedelta(days=1), TODAY + timedelta(days=9))
    _line("MO-KITTED", 1, "M-1001", 120)  # exactly covered: near miss
    _mo("MO-FAR", TODAY + timedelta(days=4), TODAY + timedelta(days=9))
    _line("MO-FAR", 1, "M-1002", 500)  # starts beyond 3 days: not checked yet

    summary = jobs.daily_kit_check(now=NOW)

    alerts = _open("daily_kit_check")
    assert set(alerts) == {"MO-SHORT", "MO-LATER"}
    assert (alerts["MO-SHORT"].severity, alerts["MO-LATER"].severity) == ("critical", "warning")
    assert alerts["MO-SHORT"].labels["kit_rate"] == "50"
    assert alerts["MO-SHORT"].detail == "M-1002 缺 10"
    assert summary["raised"] == 2

    _stock("ST4", "一号仓", "M-1002", 100, day=TODAY)
    _stock("ST5", "一号仓", "M-1001", 120, day=TODAY)
    jobs.daily_kit_check(now=NOW + timedelta(hours=1))
    assert _open("daily_kit_check") == {}


def test_kit_check_is_one_alert_across_runs_and_reads_its_horizon_at_run_time():
    _mo("MO-FAR", TODAY + timedelta(days=4), TODAY + timedelta(days=9))
    _line("MO-FAR", 1, "M-1002", 500)
    jobs.daily_kit_check(now=NOW)
    assert _open("daily_kit_check") == {}

    set_threshold(key="kit_days_ahead", value=5)
    jobs.daily_kit_check(now=NOW)
    jobs.daily_kit_check(now=NOW + timedelta(hours=1))
    assert set(_open("daily_kit_check")) == {"MO-FAR"}
    assert Alert.objects.get(rule="daily_kit_check").occurrences == 2


# --- daily_spec_match_check -------------------------------------------------------------------


def test_purchases_of_another_specification_than_production_requires_fire_and_resolve_when_corrected():
    _mo("MO-1", TODAY + timedelta(days=2), TODAY + timedelta(days=9))
    _line("MO-1", 1, "M-1001", 10, specification="1.5mm×1250")
    _po("PO-WRONG", TODAY + timedelta(days=1), specification="1.2mm×1250")
    _po("PO-RIGHT", TODAY + timedelta(days=1), specification="1.5MM X 1250")  # written differently: same spec
    _po("PO-CLOSED", TODAY + timedelta(days=1), status=2, specification="1.2mm×1250")
    _po("PO-OTHER", TODAY + timedelta(days=1), product="M-1002", specification="6061-T6")  # not needed here

    jobs.daily_spec_match_check(now=NOW)
    summary = jobs.daily_spec_match_check(now=NOW + timedelta(hours=1))

    # The query leaves the severity to the rule (warning): the summary counts it as such.
    assert summary == {"firing": 1, "firing_warning": 1, "raised": 0, "refreshed": 1, "resolved": 0}
    alerts = _open("daily_spec_match_check")
    assert set(alerts) == {"PO-WRONG"}
    assert alerts["PO-WRONG"].occurrences == 2
    assert alerts["PO-WRONG"].labels == {"vendor": "苏州恒达钢材有限公司", "material": "M-1001", "date": "2026-03-09"}
    assert "MO-1" in alerts["PO-WRONG"].detail

    PurchaseOrder.objects.filter(code="PO-WRONG").update(specification="1.5mm×1250")
    jobs.daily_spec_match_check(now=NOW + timedelta(hours=2))
    assert _open("daily_spec_match_check") == {}


def test_spec_check_horizon_is_read_at_run_time():
    _mo("MO-1", TODAY + timedelta(days=20), TODAY + timedelta(days=29))
    _line("MO-1", 1, "M-1001", 10, specification="1.5mm×1250")
    _po("PO-WRONG", TODAY + timedelta(days=1), specification="1.2mm×1250")
    jobs.daily_spec_match_check(now=NOW)
    assert _open("daily_spec_match_check") == {}

    set_threshold(key="spec_check_days_ahead", value=30)
    jobs.daily_spec_match_check(now=NOW)
    assert set(_open("daily_spec_match_check")) == {"PO-WRONG"}


# --- check_outsourcing_delivery_alerts --------------------------------------------------------


def _os(code, due, qty=100, received=0, status=1):
    return _doc(
        OutsourcingOrder,
        code,
        vendor_name="宁波联合塑胶厂",
        product_code="M-2001",
        product_name="控制柜外壳",
        quantity=Decimal(qty),
        received_quantity=Decimal(received),
        due_date=due,
        status=status,
    )


def test_outsourcing_orders_due_soon_or_late_fire_by_lateness_and_resolve_when_received():
    _os("OS-SOON", TODAY + timedelta(days=3))  # due within 3 days: info
    _os("OS-LATE", TODAY - timedelta(days=2), received=50)  # late: warning
    _os("OS-VERY", TODAY - timedelta(days=10))  # late > 3 days: critical
    _os("OS-FAR", TODAY + timedelta(days=4))  # near miss
    _os("OS-DONE", TODAY - timedelta(days=2), received=100)  # received in full
    _os("OS-CLOSED", TODAY - timedelta(days=2), status=2)

    jobs.check_outsourcing_delivery_alerts(now=NOW)
    jobs.check_outsourcing_delivery_alerts(now=NOW + timedelta(hours=1))

    alerts = _open("check_outsourcing_delivery_alerts")
    assert {key: alert.severity for key, alert in alerts.items()} == {
        "OS-SOON": "info",
        "OS-LATE": "warning",
        "OS-VERY": "critical",
    }
    assert Alert.objects.filter(rule="check_outsourcing_delivery_alerts").count() == 3
    assert alerts["OS-LATE"].labels["vendor"] == "宁波联合塑胶厂"
    assert "收货 50 / 100" in alerts["OS-LATE"].title

    OutsourcingOrder.objects.filter(code="OS-LATE").update(received_quantity=100)
    set_threshold(key="outsourcing_days_ahead", value=5)
    jobs.check_outsourcing_delivery_alerts(now=NOW + timedelta(hours=2))
    assert set(_open("check_outsourcing_delivery_alerts")) == {"OS-SOON", "OS-VERY", "OS-FAR"}


# --- check_work_report_timeout ----------------------------------------------------------------


def _report(code, order, at):
    return _doc(WorkReport, code, order_code=order, reported_at=at, quantity=Decimal(5))


def test_orders_in_progress_without_recent_work_reports_fire_and_resolve_on_a_new_report():
    _mo("MO-QUIET", TODAY - timedelta(days=5), TODAY + timedelta(days=5))
    _report("WR-1", "MO-QUIET", NOW - timedelta(hours=30))  # 30 h ago: warning
    _mo("MO-NEVER", TODAY - timedelta(days=5), TODAY + timedelta(days=5))  # never reported: critical
    _mo("MO-BUSY", TODAY - timedelta(days=5), TODAY + timedelta(days=5))
    _report("WR-2", "MO-BUSY", NOW - timedelta(hours=30))
    _report("WR-3", "MO-BUSY", NOW - timedelta(hours=23))  # the latest counts: near miss
    _mo("MO-DONE", TODAY - timedelta(days=5), TODAY + timedelta(days=5), done=100)
    _mo("MO-LATER", TODAY + timedelta(days=1), TODAY + timedelta(days=5))  # not started

    jobs.check_work_report_timeout(now=NOW)
    jobs.check_work_report_timeout(now=NOW + timedelta(minutes=30))

    alerts = _open("check_work_report_timeout")
    assert {key: alert.severity for key, alert in alerts.items()} == {"MO-QUIET": "warning", "MO-NEVER": "critical"}
    assert Alert.objects.filter(rule="check_work_report_timeout").count() == 2
    assert alerts["MO-QUIET"].title == "生产订单 MO-QUIET 控制柜外壳 已 30 小时没有报工"

    _report("WR-4", "MO-QUIET", NOW + timedelta(hours=1))
    set_threshold(key="work_report_timeout_hours", value=48)  # MO-BUSY's 25 h no longer counts either
    jobs.check_work_report_timeout(now=NOW + timedelta(hours=2))
    assert set(_open("check_work_report_timeout")) == {"MO-NEVER"}


# --- run_ecn_scheduler ------------------------------------------------------------------------


def _ecn(code, stage, approval=None, implementation=None):
    return _doc(
        EngineeringChange,
        code,
        title="控制柜外壳 设计变更",
        stage=stage,
        approval_deadline=approval,
        implementation_deadline=implementation,
        owner_name="张伟",
    )


def test_ecns_past_their_stages_deadline_fire_and_resolve_when_the_stage_moves_on():
    _ecn("EC-APPROVE", 0, approval=TODAY - timedelta(days=2), implementation=TODAY + timedelta(days=20))
    _ecn("EC-IMPLEMENT", 1, approval=TODAY - timedelta(days=30), implementation=TODAY - timedelta(days=8))
    _ecn("EC-ONTIME", 1, approval=TODAY - timedelta(days=30), implementation=TODAY)  # due today: near miss
    _ecn("EC-DONE", 2, approval=TODAY - timedelta(days=30), implementation=TODAY - timedelta(days=8))

    jobs.run_ecn_scheduler(now=NOW)
    jobs.run_ecn_scheduler(now=NOW + timedelta(hours=1))

    alerts = _open("run_ecn_scheduler")
    assert {key: alert.severity for key, alert in alerts.items()} == {
        "EC-APPROVE": "warning",
        "EC-IMPLEMENT": "critical",
    }
    assert Alert.objects.filter(rule="run_ecn_scheduler").count() == 2
    assert alerts["EC-APPROVE"].labels == {"owner": "张伟", "stage": "approval", "date": "2026-03-09"}

    EngineeringChange.objects.filter(code="EC-APPROVE").update(stage=1)  # approved, implementation not due
    set_threshold(key="ecn_grace_days", value=10)
    jobs.run_ecn_scheduler(now=NOW + timedelta(hours=2))
    assert _open("run_ecn_scheduler") == {}


# --- check_equipment_maintenance_reminder -----------------------------------------------------


def _plan(code, equipment, due, day=TODAY - timedelta(days=1)):
    return _doc(
        EquipmentMaintenancePlan,
        code,
        day,
        equipment_code=equipment,
        equipment_name="数控折弯机",
        workshop="钣金车间",
        next_maintenance_date=due,
        owner_name="李秀英",
    )


def test_maintenance_due_soon_or_overdue_fires_and_resolves_when_the_next_plan_arrives():
    _plan("EM1", "EQ-1", TODAY + timedelta(days=3))  # info
    _plan("EM2", "EQ-2", TODAY - timedelta(days=2))  # warning
    _plan("EM3", "EQ-3", TODAY - timedelta(days=9))  # critical
    _plan("EM4", "EQ-4", TODAY + timedelta(days=4))  # near miss

    jobs.check_equipment_maintenance_reminder(now=NOW)
    jobs.check_equipment_maintenance_reminder(now=NOW + timedelta(hours=1))

    alerts = _open("check_equipment_maintenance_reminder")
    assert {key: alert.severity for key, alert in alerts.items()} == {
        "EQ-1": "info",
        "EQ-2": "warning",
        "EQ-3": "critical",
    }
    assert Alert.objects.filter(rule="check_equipment_maintenance_reminder").count() == 3

    _plan("EM5", "EQ-2", TODAY + timedelta(days=30), day=TODAY)  # maintained: the next plan is a month out
    set_threshold(key="maintenance_days_ahead", value=4)
    jobs.check_equipment_maintenance_reminder(now=NOW + timedelta(hours=2))
    assert set(_open("check_equipment_maintenance_reminder")) == {"EQ-1", "EQ-3", "EQ-4"}


# --- sales_reminder_scan ----------------------------------------------------------------------


def test_sales_reminders_fire_per_kind_and_resolve_when_handled():
    _stock("ST1", "成品仓", "M-2001", 10)
    _doc(
        SalesOrder,
        "SO-BARE",
        customer_name="华东精密",
        product_code="M-3005",
        quantity=Decimal(5),
        delivery_date=TODAY + timedelta(days=7),
        status=1,
    )  # nothing makes or stocks M-3005
    _doc(
        SalesOrder,
        "SO-STOCKED",
        customer_name="华东精密",
        product_code="M-2001",
        quantity=Decimal(10),
        delivery_date=TODAY + timedelta(days=2),
        status=1,
    )  # in stock: near miss
    _doc(
        SalesOrder,
        "SO-LATER",
        customer_name="华东精密",
        product_code="M-3005",
        quantity=Decimal(5),
        delivery_date=TODAY + timedelta(days=8),
        status=1,
    )  # beyond 7 days: near miss
    _doc(
        Quotation,
        "QT-EXPIRING",
        customer_name="北京云帆",
        amount=Decimal(1000),
        status=0,
        valid_until=TODAY + timedelta(days=3),
        owner_name="刘洋",
    )
    _doc(Quotation, "QT-LATER", customer_name="北京云帆", status=0, valid_until=TODAY + timedelta(days=4))
    _doc(Quotation, "QT-WON", customer_name="北京云帆", status=1, valid_until=TODAY + timedelta(days=1))
    _doc(
        Opportunity,
        "OP-IDLE",
        title="年度采购",
        customer_name="深圳海川",
        stage="商务谈判",
        last_follow_up=TODAY - timedelta(days=15),
        owner_name="刘洋",
    )
    _doc(Opportunity, "OP-RECENT", customer_name="深圳海川", last_follow_up=TODAY - timedelta(days=14))
    _doc(Opportunity, "OP-CLOSED", customer_name="深圳海川", closed=True, last_follow_up=TODAY - timedelta(days=60))

    jobs.sales_reminder_scan(now=NOW)
    jobs.sales_reminder_scan(now=NOW + timedelta(hours=1))

    alerts = _open("sales_reminder_scan")
    assert set(alerts) == {"order:SO-BARE", "quotation:QT-EXPIRING", "opportunity:OP-IDLE"}
    assert Alert.objects.filter(rule="sales_reminder_scan").count() == 3
    assert alerts["opportunity:OP-IDLE"].title == "商机 年度采购（商务谈判）已 15 天未跟进"
    assert alerts["quotation:QT-EXPIRING"].labels["owner"] == "刘洋"

    _mo("MO-3005", TODAY, TODAY + timedelta(days=6))  # now in production (product M-2001 in _mo)
    ProductionOrder.objects.filter(code="MO-3005").update(product_code="M-3005")
    Opportunity.objects.filter(code="OP-IDLE").update(last_follow_up=TODAY)
    set_threshold(key="quotation_expiry_days", value=2)
    jobs.sales_reminder_scan(now=NOW + timedelta(hours=2))
    assert _open("sales_reminder_scan") == {}
