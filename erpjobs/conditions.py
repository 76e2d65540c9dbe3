"""The set-based queries of the ERP business jobs: each reads the synced tables once (one SELECT,
however many rows) and returns the `Firing` of every key for which its rule holds `today`.

They read the `sync` app's document tables as synced; which Yonyou fields those come from (and
which are assumed) is declared in `sync/documents.py` and `yonyou/client.py`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import DecimalField, Exists, F, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting.lifecycle import Firing
from alerts.alerting.messages import absolute_url
from alerts.alerting.models import Severity
from alerts.alerting.thresholds import threshold_value
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

CLOSED = 2  # the ERP's 已关闭: a closed order no longer owes anything


def _quantity(value: Decimal) -> str:
    """A quantity as people write it, the same on every database: 90, 12.5 (not 90.0000)."""
    return format(Decimal(value).normalize(), "f")


def _admin_link(model, code: str) -> str:
    meta = model._meta
    return absolute_url(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist") + f"?q={code}")


def shortages(*, today: date) -> list[Firing]:
    """Per warehouse and material, on the latest stock snapshot: stock below its safety stock
    (`shortage_safety_pct` of it); critical below `shortage_critical_pct`."""
    warn_pct = Decimal(str(threshold_value("shortage_safety_pct")))
    critical_pct = Decimal(str(threshold_value("shortage_critical_pct")))
    latest = MaterialStock.objects.filter(business_date__lte=today).aggregate(day=Max("business_date"))["day"]
    if latest is None:
        return []
    rows = (
        MaterialStock.objects.filter(business_date=latest, safety_quantity__gt=0)
        .values("warehouse_name", "product_code")
        .annotate(name=Max("product_name"), stock=Sum("current_quantity"), safety=Sum("safety_quantity"))
        .order_by("warehouse_name", "product_code")
    )
    firing = []
    for row in rows:
        if row["stock"] * 100 >= row["safety"] * warn_pct:
            continue
        share = row["stock"] * 100 / row["safety"]
        firing.append(
            Firing(
                key=f"{row['warehouse_name']}:{row['product_code']}",
                title=_("%(warehouse)s %(code)s %(name)s 缺料：现存 %(stock)s，安全库存 %(safety)s")
                % {
                    "warehouse": row["warehouse_name"],
                    "code": row["product_code"],
                    "name": row["name"],
                    "stock": _quantity(row["stock"]),
                    "safety": _quantity(row["safety"]),
                },
                labels={"warehouse": row["warehouse_name"], "material": row["product_code"], "date": latest},
                severity=Severity.CRITICAL if share < critical_pct else Severity.WARNING,
                link=_admin_link(MaterialStock, row["product_code"]),
            )
        )
    return firing


def _arrived_quantity():
    """Per purchase order (OuterRef "code"): the quantity arrived against it so far, 0 if none."""
    arrived = (
        PurchaseArrival.objects.filter(source_order_code=OuterRef("code"))
        .values("source_order_code")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(arrived), Value(Decimal(0), output_field=DecimalField(max_digits=18, decimal_places=4)))


def _latest_stock_by_material(today: date) -> dict[str, Decimal]:
    """Stock per material over all warehouses, on the latest snapshot up to `today` (one query)."""
    latest = MaterialStock.objects.filter(business_date__lte=today).order_by("-business_date").values("business_date")
    rows = (
        MaterialStock.objects.filter(business_date=Subquery(latest[:1]))
        .values("product_code")
        .annotate(stock=Sum("current_quantity"))
        .order_by()
    )
    return {row["product_code"]: row["stock"] for row in rows}


def _open_purchases_by_material(until: date) -> dict[str, Decimal]:
    """Per material, what open purchase orders planned to arrive by `until` still owe (one query)."""
    rows = (
        PurchaseOrder.objects.filter(arrival_date__lte=until)
        .exclude(status=CLOSED)
        .annotate(owed=F("quantity") - _arrived_quantity())
        .values("product_code")
        .annotate(open=Sum("owed"))
        .order_by()
    )
    return {row["product_code"]: max(row["open"] or Decimal(0), Decimal(0)) for row in rows}


def kit_shortfalls(*, today: date) -> list[Firing]:
    """Production orders starting within `kit_days_ahead` days whose material lines are not all
    covered by stock plus open purchases arriving by then: the kit rate (share of lines covered)
    below `kit_rate_pct`. Each order is compared with all of the stock (no allocation between
    orders competing for it). Critical when the order starts within `kit_critical_days`."""
    days_ahead = int(threshold_value("kit_days_ahead"))
    wanted_rate = Decimal(str(threshold_value("kit_rate_pct")))
    critical_days = int(threshold_value("kit_critical_days"))
    until = today + timedelta(days=days_ahead)
    orders = (
        ProductionOrder.objects.filter(start_date__gte=today, start_date__lte=until)
        .exclude(status=CLOSED)
        .filter(finished_quantity__lt=F("quantity"))
    )
    lines = (
        ProductionMaterialLine.objects.filter(order_code__in=orders.values("code"))
        .values("order_code", "product_code", "product_name", "required_quantity", "issued_quantity")
        .order_by("order_code", "line_number", "code")
    )
    by_order: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_order[line["order_code"]].append(line)
    if not by_order:
        return []
    headers = {row["code"]: row for row in orders.values("code", "product_name", "start_date", "business_date")}
    stock = _latest_stock_by_material(today)
    purchases = _open_purchases_by_material(until)
    firing = []
    for order_code, order_lines in sorted(by_order.items()):
        order = headers[order_code]
        missing = []
        for line in order_lines:
            need = line["required_quantity"] - line["issued_quantity"]
            available = stock.get(line["product_code"], Decimal(0)) + purchases.get(line["product_code"], Decimal(0))
            if need > available:
                missing.append(
                    _("%(name)s 缺 %(short)s") % {"name": line["product_name"], "short": _quantity(need - available)}
                )
        rate = Decimal(len(order_lines) - len(missing)) * 100 / len(order_lines)
        if rate >= wanted_rate:
            continue
        days_to_start = (order["start_date"] - today).days
        firing.append(
            Firing(
                key=order_code,
                title=_("生产订单 %(code)s %(name)s 将于 %(start)s 开工，齐套率 %(rate).0f%%")
                % {"code": order_code, "name": order["product_name"], "start": order["start_date"], "rate": rate},
                detail="；".join(missing),
                labels={"kit_rate": f"{rate:.0f}", "date": order["business_date"]},
                severity=Severity.CRITICAL if days_to_start <= critical_days else Severity.WARNING,
                link=_admin_link(ProductionMaterialLine, order_code),
            )
        )
    return firing


def late_deliveries(*, today: date) -> list[Firing]:
    """Open purchase order lines past their planned arrival (plus `delivery_delay_grace_days`)
    whose arrived quantity is short by more than `delivery_shortfall_tolerance_pct`."""
    grace = int(threshold_value("delivery_delay_grace_days"))
    tolerance = Decimal(str(threshold_value("delivery_shortfall_tolerance_pct")))
    critical_days = int(threshold_value("delivery_delay_critical_days"))
    rows = (
        PurchaseOrder.objects.filter(arrival_date__lt=today, quantity__gt=0)
        .exclude(status=CLOSED)
        .annotate(arrived=_arrived_quantity())
        .values(
            "code",
            "vendor_name",
            "product_code",
            "product_name",
            "quantity",
            "arrival_date",
            "arrived",
            "business_date",
        )
        .order_by("code")
    )
    firing = []
    for row in rows:
        days_late = (today - row["arrival_date"]).days
        if days_late <= grace or row["arrived"] * 100 >= row["quantity"] * (100 - tolerance):
            continue
        firing.append(
            Firing(
                key=row["code"],
                title=_("采购订单 %(code)s（%(vendor)s）%(name)s 已延迟 %(days)s 天：到货 %(arrived)s / %(qty)s")
                % {
                    "code": row["code"],
                    "vendor": row["vendor_name"],
                    "name": row["product_name"] or row["product_code"],
                    "days": days_late,
                    "arrived": _quantity(row["arrived"]),
                    "qty": _quantity(row["quantity"]),
                },
                labels={"vendor": row["vendor_name"], "material": row["product_code"], "date": row["business_date"]},
                severity=Severity.CRITICAL if days_late > critical_days else Severity.WARNING,
                link=_admin_link(PurchaseOrder, row["code"]),
            )
        )
    return firing


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
                link=_admin_link(ProductionOrder, row["code"]),
            )
        )
    return firing


def overdue_receivables(*, today: date) -> list[Firing]:
    """Per customer, the unpaid balance past due, by ageing bucket; critical when any of it is
    beyond the third bucket. Below `receivable_min_balance` in total, no alert."""
    minimum = Decimal(str(threshold_value("receivable_min_balance")))
    limits = sorted(int(threshold_value(f"receivable_bucket_{n}_days")) for n in (1, 2, 3))
    rows = (
        Receivable.objects.filter(due_date__lt=today, balance__gt=0)
        .values("customer_id", "customer_name", "balance", "due_date", "business_date")
        .order_by("customer_id", "due_date")
    )
    customers: dict[str, dict] = defaultdict(lambda: {"buckets": [Decimal(0)] * 4, "oldest": 0, "date": None})
    for row in rows:
        customer = customers[(row["customer_id"], row["customer_name"])]
        days = (today - row["due_date"]).days
        bucket = next((i for i, limit in enumerate(limits) if days <= limit), 3)
        customer["buckets"][bucket] += row["balance"]
        customer["oldest"] = max(customer["oldest"], days)
        customer["date"] = max(filter(None, (customer["date"], row["business_date"])))
    names = [f"1-{limits[0]}", f"{limits[0] + 1}-{limits[1]}", f"{limits[1] + 1}-{limits[2]}", f">{limits[2]}"]
    firing = []
    for (customer_id, customer_name), customer in sorted(customers.items()):
        total = sum(customer["buckets"])
        if total < minimum:
            continue
        oldest_bucket = next(i for i in (3, 2, 1, 0) if customer["buckets"][i] > 0)
        severity = (Severity.INFO, Severity.WARNING, Severity.WARNING, Severity.CRITICAL)[oldest_bucket]
        firing.append(
            Firing(
                key=customer_id or customer_name,
                title=_("客户 %(customer)s 逾期应收 %(total).2f 元，最长逾期 %(days)s 天")
                % {"customer": customer_name, "total": total, "days": customer["oldest"]},
                detail="；".join(
                    _("%(bucket)s 天：%(amount).2f 元") % {"bucket": name, "amount": amount}
                    for name, amount in zip(names, customer["buckets"], strict=True)
                    if amount
                ),
                labels={"customer": customer_name, "ageing": names[oldest_bucket], "date": customer["date"]},
                severity=severity,
                link=_admin_link(Receivable, customer_name),
            )
        )
    return firing


def _normalised_specification(text: str) -> str:
    """Specifications as compared: case, spaces and the ways people write "×" do not count."""
    return "".join(text.split()).casefold().replace("*", "×").replace("x", "×")


def specification_mismatches(*, today: date) -> list[Firing]:
    """Open purchase orders of a material whose specification differs from what a material line
    of an open production order starting within `spec_check_days_ahead` days requires. Purchase
    lines do not name the production order they serve (assumed), so they are matched by material."""
    days_ahead = int(threshold_value("spec_check_days_ahead"))
    orders = (
        ProductionOrder.objects.filter(start_date__lte=today + timedelta(days=days_ahead))
        .exclude(status=CLOSED)
        .filter(finished_quantity__lt=F("quantity"))
    )
    required: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for line in (
        ProductionMaterialLine.objects.filter(order_code__in=orders.values("code"))
        .exclude(specification="")
        .values("order_code", "product_code", "specification")
    ):
        required[line["product_code"]][_normalised_specification(line["specification"])].add(line["order_code"])
    if not required:
        return []
    purchases = (
        PurchaseOrder.objects.filter(product_code__in=list(required))
        .exclude(status=CLOSED)
        .exclude(specification="")
        .values("code", "vendor_name", "product_code", "product_name", "specification", "business_date")
        .order_by("code")
    )
    firing = []
    for row in purchases:
        wanted = required[row["product_code"]]
        if _normalised_specification(row["specification"]) in wanted:
            continue
        orders_needing = sorted(code for codes in wanted.values() for code in codes)
        firing.append(
            Firing(
                key=row["code"],
                title=_("采购订单 %(code)s 的 %(name)s 规格为 %(spec)s，与生产用料要求不符")
                % {
                    "code": row["code"],
                    "name": row["product_name"] or row["product_code"],
                    "spec": row["specification"],
                },
                detail=_("生产订单 %(orders)s 要求规格：%(specs)s")
                % {"orders": "、".join(orders_needing[:10]), "specs": "、".join(sorted(wanted))},
                labels={"vendor": row["vendor_name"], "material": row["product_code"], "date": row["business_date"]},
                link=_admin_link(PurchaseOrder, row["code"]),
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
            "received": _quantity(row["received_quantity"]),
            "qty": _quantity(row["quantity"]),
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
                link=_admin_link(OutsourcingOrder, row["code"]),
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
                link=_admin_link(WorkReport, row["code"]),
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
                link=_admin_link(EngineeringChange, row["code"]),
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
                link=_admin_link(EquipmentMaintenancePlan, row["equipment_code"]),
            )
        )
    return firing


def sales_reminders(*, today: date) -> list[Firing]:
    """Three reminders to sales, keyed by kind: open sales orders delivering within
    `sales_delivery_days_ahead` days whose material is neither in production nor in stock for the
    quantity; open quotations expiring within `quotation_expiry_days`; open opportunities not
    followed up for `opportunity_idle_days`."""
    delivery_days = int(threshold_value("sales_delivery_days_ahead"))
    expiry_days = int(threshold_value("quotation_expiry_days"))
    idle_days = int(threshold_value("opportunity_idle_days"))
    in_production = (
        ProductionOrder.objects.filter(product_code=OuterRef("product_code"), quantity__gt=0)
        .exclude(status=CLOSED)
        .filter(finished_quantity__lt=F("quantity"))
    )
    orders = (
        SalesOrder.objects.filter(delivery_date__gte=today, delivery_date__lte=today + timedelta(days=delivery_days))
        .exclude(status=CLOSED)
        .exclude(product_code="")
        .exclude(Exists(in_production))
        .values("code", "customer_name", "product_code", "quantity", "delivery_date", "business_date")
        .order_by("code")
    )
    stock = _latest_stock_by_material(today)
    firing = []
    for row in orders:
        if stock.get(row["product_code"], Decimal(0)) >= row["quantity"]:
            continue
        firing.append(
            Firing(
                key=f"order:{row['code']}",
                title=_("销售订单 %(code)s（%(customer)s）%(due)s 交货，%(product)s 既无在产也无足够库存")
                % {
                    "code": row["code"],
                    "customer": row["customer_name"],
                    "due": row["delivery_date"],
                    "product": row["product_code"],
                },
                labels={"kind": "order", "customer": row["customer_name"], "date": row["business_date"]},
                severity=Severity.WARNING,
                link=_admin_link(SalesOrder, row["code"]),
            )
        )
    for row in (
        Quotation.objects.filter(status=0, valid_until__gte=today, valid_until__lte=today + timedelta(days=expiry_days))
        .values("code", "customer_name", "amount", "valid_until", "owner_name", "business_date")
        .order_by("code")
    ):
        firing.append(
            Firing(
                key=f"quotation:{row['code']}",
                title=_("报价单 %(code)s（%(customer)s，%(amount).2f 元）将于 %(until)s 失效")
                % {
                    "code": row["code"],
                    "customer": row["customer_name"],
                    "amount": row["amount"],
                    "until": row["valid_until"],
                },
                labels={
                    "kind": "quotation",
                    "customer": row["customer_name"],
                    "owner": row["owner_name"],
                    "date": row["business_date"],
                },
                severity=Severity.INFO,
                link=_admin_link(Quotation, row["code"]),
            )
        )
    for row in (
        Opportunity.objects.filter(closed=False, last_follow_up__lt=today - timedelta(days=idle_days))
        .values("code", "title", "customer_name", "stage", "last_follow_up", "owner_name", "business_date")
        .order_by("code")
    ):
        idle = (today - row["last_follow_up"]).days
        firing.append(
            Firing(
                key=f"opportunity:{row['code']}",
                title=_("商机 %(title)s（%(stage)s）已 %(days)s 天未跟进")
                % {"title": row["title"] or row["code"], "stage": row["stage"], "days": idle},
                labels={
                    "kind": "opportunity",
                    "customer": row["customer_name"],
                    "owner": row["owner_name"],
                    "date": row["business_date"],
                },
                severity=Severity.WARNING if idle > 2 * idle_days else Severity.INFO,
                link=_admin_link(Opportunity, row["code"]),
            )
        )
    return firing
