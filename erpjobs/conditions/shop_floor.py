"""The shop floor: production behind plan, outsourcing due, silent orders (no work report),
engineering changes past their deadline, equipment maintenance due."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting.lifecycle import Firing
from alerts.alerting.models import Severity
from alerts.alerting.thresholds import threshold_value
from erpjobs.conditions.documents import CLOSED, admin_link, quantity
from sync.models import (
    EngineeringChange,
    EquipmentMaintenancePlan,
    OutsourcingOrder,
    ProductionOrder,
    WorkReport,
)


def production_behind_plan(*, today: date) -> list[Firing]:
    """Unfinished, unclosed production orders past their planned finish, or whose finished share
    lags the elapsed share of their planned time by more than `production_lag_pct` points."""
    lag_pct = Decimal(str(threshold_value("production_lag_pct")))
    critical_days = int(threshold_value("production_late_critical_days"))
    rows = (
        ProductionOrder.objects.filter(quantity__gt=0, start_date__lte=today, finish_date__isnull=False)
        .exclude(status=CLOSED)
        .filter(finished_quantity__lt=F("quantity"))
        .values(
            "code",
            "product_code",
            "product_name",
            "quantity",
            "finished_quantity",
            "start_date",
            "finish_date",
            "business_date",
        )
        .order_by("code")
    )
    firing = []
    for row in rows:
        done = row["finished_quantity"] * 100 / row["quantity"]
        days_late = (today - row["finish_date"]).days
        planned_days = max((row["finish_date"] - row["start_date"]).days, 1)
        elapsed = Decimal(min(max((today - row["start_date"]).days, 0), planned_days) * 100) / planned_days
        if days_late > 0:
            title = _("生产订单 %(code)s %(name)s 已超计划完工日 %(days)s 天，完工 %(done).0f%%") % {
                "code": row["code"],
                "name": row["product_name"],
                "days": days_late,
                "done": done,
            }
            severity = Severity.CRITICAL if days_late > critical_days else Severity.WARNING
        elif elapsed - done > lag_pct:
            title = _("生产订单 %(code)s %(name)s 进度落后：时间已过 %(elapsed).0f%%，完工 %(done).0f%%") % {
                "code": row["code"],
                "name": row["product_name"],
                "elapsed": elapsed,
                "done": done,
            }
            severity = Severity.WARNING
        else:
            continue
        firing.append(
            Firing(
                key=row["code"],
                title=title,
                labels={"material": row["product_code"], "date": row["business_date"]},
                severity=severity,
                link=admin_link(ProductionOrder, row["code"]),
            )
        )
    return firing


def outsourcing_due(*, today: date) -> list[Firing]:
    """Open outsourcing orders not fully received that are due within `outsourcing_days_ahead`
    days (info) or late (warning; critical after `outsourcing_late_critical_days`)."""
    days_ahead = int(threshold_value("outsourcing_days_ahead"))
    critical_days = int(threshold_value("outsourcing_late_critical_days"))
    rows = (
        OutsourcingOrder.objects.filter(due_date__lte=today + timedelta(days=days_ahead), quantity__gt=0)
        .exclude(status=CLOSED)
        .filter(received_quantity__lt=F("quantity"))
        .values(
            "code",
            "vendor_name",
            "product_code",
            "product_name",
            "quantity",
            "received_quantity",
            "due_date",
            "business_date",
        )
        .order_by("code")
    )
    firing = []
    for row in rows:
        days_late = (today - row["due_date"]).days
        values = {
            "code": row["code"],
            "vendor": row["vendor_name"],
            "name": row["product_name"] or row["product_code"],
            "received": quantity(row["received_quantity"]),
            "qty": quantity(row["quantity"]),
        }
        if days_late > 0:
            title = _("委外订单 %(code)s（%(vendor)s）%(name)s 已逾期 %(days)s 天：收货 %(received)s / %(qty)s")
            severity = Severity.CRITICAL if days_late > critical_days else Severity.WARNING
        else:
            title = _("委外订单 %(code)s（%(vendor)s）%(name)s 将于 %(due)s 到期：收货 %(received)s / %(qty)s")
            severity = Severity.INFO
        firing.append(
            Firing(
                key=row["code"],
                title=title % {**values, "days": days_late, "due": row["due_date"]},
                labels={"vendor": row["vendor_name"], "material": row["product_code"], "date": row["business_date"]},
                severity=severity,
                link=admin_link(OutsourcingOrder, row["code"]),
            )
        )
    return firing


def silent_production_orders(*, now: datetime) -> list[Firing]:
    """Production orders in progress (started, unfinished, not closed) with no work report for
    `work_report_timeout_hours` (counted from their start when none was ever reported);
    critical past `work_report_critical_hours`."""
    timeout_hours = threshold_value("work_report_timeout_hours")
    critical_hours = threshold_value("work_report_critical_hours")
    today = timezone.localdate(now)
    last_report = (
        WorkReport.objects.filter(order_code=OuterRef("code"))
        .values("order_code")
        .annotate(last=Max("reported_at"))
        .values("last")
    )
    rows = (
        ProductionOrder.objects.filter(start_date__lte=today, quantity__gt=0)
        .exclude(status=CLOSED)
        .filter(finished_quantity__lt=F("quantity"))
        .annotate(last_report=Subquery(last_report))
        .values("code", "product_code", "product_name", "start_date", "last_report", "business_date")
        .order_by("code")
    )
    firing = []
    for row in rows:
        since = row["last_report"] or datetime.combine(
            row["start_date"], time.min, tzinfo=timezone.get_default_timezone()
        )
        hours = (now - since).total_seconds() / 3600
        if hours < timeout_hours:
            continue
        values = {"code": row["code"], "name": row["product_name"], "hours": int(hours)}
        if row["last_report"] is None:
            title = _("生产订单 %(code)s %(name)s 开工后 %(hours)s 小时仍无报工") % values
        else:
            title = _("生产订单 %(code)s %(name)s 已 %(hours)s 小时没有报工") % values
        firing.append(
            Firing(
                key=row["code"],
                title=title,
                labels={"material": row["product_code"], "date": row["business_date"]},
                severity=Severity.CRITICAL if hours >= critical_hours else Severity.WARNING,
                link=admin_link(WorkReport, row["code"]),
            )
        )
    return firing


def overdue_engineering_changes(*, today: date) -> list[Firing]:
    """ECNs still awaiting approval past their approval deadline, or approved and awaiting
    implementation past theirs (plus `ecn_grace_days`); critical after `ecn_critical_days`."""
    grace = int(threshold_value("ecn_grace_days"))
    critical_days = int(threshold_value("ecn_critical_days"))
    cutoff = today - timedelta(days=grace)
    stage = EngineeringChange.Stage
    rows = (
        EngineeringChange.objects.filter(
            Q(stage=stage.PENDING_APPROVAL, approval_deadline__lt=cutoff)
            | Q(stage=stage.PENDING_IMPLEMENTATION, implementation_deadline__lt=cutoff)
        )
        .values("code", "title", "stage", "approval_deadline", "implementation_deadline", "owner_name", "business_date")
        .order_by("code")
    )
    firing = []
    for row in rows:
        approving = row["stage"] == stage.PENDING_APPROVAL
        deadline = row["approval_deadline"] if approving else row["implementation_deadline"]
        days_late = (today - deadline).days
        firing.append(
            Firing(
                key=row["code"],
                title=_("工程变更 %(code)s %(title)s %(stage)s已超期 %(days)s 天（期限 %(deadline)s）")
                % {
                    "code": row["code"],
                    "title": row["title"],
                    "stage": _("审批") if approving else _("实施"),
                    "days": days_late,
                    "deadline": deadline,
                },
                labels={
                    "owner": row["owner_name"],
                    "stage": "approval" if approving else "implementation",
                    "date": row["business_date"],
                },
                severity=Severity.CRITICAL if days_late > critical_days else Severity.WARNING,
                link=admin_link(EngineeringChange, row["code"]),
            )
        )
    return firing


def maintenance_due(*, today: date) -> list[Firing]:
    """Equipment whose next maintenance is within `maintenance_days_ahead` days (info) or past
    (warning; critical after `maintenance_overdue_critical_days`). The latest plan row per
    equipment counts: a plan synced again after the maintenance carries the next date."""
    days_ahead = int(threshold_value("maintenance_days_ahead"))
    critical_days = int(threshold_value("maintenance_overdue_critical_days"))
    newer = EquipmentMaintenancePlan.objects.filter(
        equipment_code=OuterRef("equipment_code"), business_date__gt=OuterRef("business_date")
    )
    rows = (
        EquipmentMaintenancePlan.objects.filter(next_maintenance_date__lte=today + timedelta(days=days_ahead))
        .exclude(Exists(newer))
        .values(
            "code",
            "equipment_code",
            "equipment_name",
            "workshop",
            "next_maintenance_date",
            "owner_name",
            "business_date",
        )
        .order_by("equipment_code", "code")
    )
    firing = []
    for row in rows:
        days_over = (today - row["next_maintenance_date"]).days
        values = {
            "equipment": row["equipment_name"],
            "code": row["equipment_code"],
            "due": row["next_maintenance_date"],
        }
        if days_over > 0:
            title = _("设备 %(equipment)s（%(code)s）保养已超期 %(days)s 天（应于 %(due)s）") % {
                **values,
                "days": days_over,
            }
            severity = Severity.CRITICAL if days_over > critical_days else Severity.WARNING
        else:
            title = _("设备 %(equipment)s（%(code)s）将于 %(due)s 保养") % values
            severity = Severity.INFO
        firing.append(
            Firing(
                key=row["equipment_code"] or row["code"],
                title=title,
                labels={"owner": row["owner_name"], "workshop": row["workshop"], "date": row["business_date"]},
                severity=severity,
                link=admin_link(EquipmentMaintenancePlan, row["equipment_code"]),
            )
        )
    return firing
