"""Material availability: shortages against safety stock, kit coverage of production orders about
to start, late purchase deliveries, purchases bought to another specification."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils.translation import gettext as _

from alerts.alerting.lifecycle import Firing
from alerts.alerting.models import Severity
from alerts.alerting.thresholds import threshold_value
from erpjobs.conditions.documents import (
    CLOSED,
    admin_link,
    arrived_quantity,
    latest_stock_by_material,
    open_purchases_by_material,
    quantity,
)
from sync.models import (
    MaterialStock,
    ProductionMaterialLine,
    ProductionOrder,
    PurchaseOrder,
)


def shortages(*, today: date) -> list[Firing]:
    """Per warehouse and material, on the latest stock snapshot: stock below its safety stock
    (`shortage_safety_pct` of it); critical below `shortage_critical_pct`. Per material (all
    warehouses): open production demand above stock (`demand_shortages`)."""
    warn_pct = Decimal(str(threshold_value("shortage_safety_pct")))
    critical_pct = Decimal(str(threshold_value("shortage_critical_pct")))
    latest = MaterialStock.objects.filter(business_date__lte=today).aggregate(day=Max("business_date"))["day"]
    if latest is None:
        return demand_shortages(stock_date=None, critical_pct=critical_pct)
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
                    "stock": quantity(row["stock"]),
                    "safety": quantity(row["safety"]),
                },
                labels={"warehouse": row["warehouse_name"], "material": row["product_code"], "date": latest},
                severity=Severity.CRITICAL if share < critical_pct else Severity.WARNING,
                link=admin_link(MaterialStock, row["product_code"]),
            )
        )
    return firing + demand_shortages(stock_date=latest, critical_pct=critical_pct)


def demand_shortages(*, stock_date: date | None, critical_pct: Decimal) -> list[Firing]:
    """Per material, in one query: what open production orders still have to draw (required minus
    issued on their material lines, never below 0 per line) above the stock of all warehouses on
    the `stock_date` snapshot. Critical when stock covers less than `critical_pct` of it."""
    decimal = DecimalField(max_digits=18, decimal_places=4)
    zero = Value(Decimal(0), output_field=decimal)
    open_orders = (
        ProductionOrder.objects.exclude(status=CLOSED).filter(finished_quantity__lt=F("quantity")).values("code")
    )
    stock = (
        MaterialStock.objects.filter(business_date=stock_date, product_code=OuterRef("product_code"))
        .values("product_code")
        .annotate(total=Sum("current_quantity"))
        .values("total")
    )
    rows = (
        ProductionMaterialLine.objects.filter(order_code__in=open_orders)
        .exclude(product_code="")
        .values("product_code")
        .annotate(
            name=Max("product_name"),
            demand=Sum(Greatest(F("required_quantity") - F("issued_quantity"), zero), output_field=decimal),
            stock=Coalesce(Subquery(stock, output_field=decimal), zero),
            orders=Count("order_code", distinct=True),
        )
        .filter(demand__gt=F("stock"))
        .order_by("product_code")
    )
    return [
        Firing(
            key=f"demand:{row['product_code']}",
            title=_("%(code)s %(name)s 生产需求 %(demand)s 超过现存 %(stock)s（%(orders)s 张生产订单）")
            % {
                "code": row["product_code"],
                "name": row["name"],
                "demand": quantity(row["demand"]),
                "stock": quantity(row["stock"]),
                "orders": row["orders"],
            },
            labels={"material": row["product_code"], **({"date": stock_date} if stock_date else {})},
            severity=Severity.CRITICAL if row["stock"] * 100 < row["demand"] * critical_pct else Severity.WARNING,
            link=admin_link(ProductionMaterialLine, row["product_code"]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class OrderKit:
    """How far one production order about to start is kitted: its lines covered by stock plus open
    purchases arriving by the end of the window, and what the others lack."""

    order_code: str
    product_name: str
    start_date: date
    business_date: date
    lines: int
    covered: int
    missing: tuple[str, ...]

    @property
    def rate(self) -> Decimal:
        return Decimal(self.covered) * 100 / self.lines


def order_kits(*, today: date) -> list[OrderKit]:
    """Every unfinished, unclosed production order starting within `kit_days_ahead` days that has
    material lines, with its kit rate (share of lines covered). Each order is compared with all
    of the stock (no allocation between orders competing for it). Four queries, whatever the rows."""
    until = today + timedelta(days=int(threshold_value("kit_days_ahead")))
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
    stock = latest_stock_by_material(today)
    purchases = open_purchases_by_material(until)
    kits = []
    for order_code, order_lines in sorted(by_order.items()):
        order = headers[order_code]
        missing = []
        for line in order_lines:
            need = line["required_quantity"] - line["issued_quantity"]
            available = stock.get(line["product_code"], Decimal(0)) + purchases.get(line["product_code"], Decimal(0))
            if need > available:
                missing.append(
                    _("%(name)s 缺 %(short)s") % {"name": line["product_name"], "short": quantity(need - available)}
                )
        kits.append(
            OrderKit(
                order_code=order_code,
                product_name=order["product_name"],
                start_date=order["start_date"],
                business_date=order["business_date"],
                lines=len(order_lines),
                covered=len(order_lines) - len(missing),
                missing=tuple(missing),
            )
        )
    return kits


def kit_shortfalls(*, today: date, kits: list[OrderKit] | None = None) -> list[Firing]:
    """The orders of `order_kits` (or the `kits` given) whose kit rate is below `kit_rate_pct`;
    critical when the order starts within `kit_critical_days`."""
    wanted_rate = Decimal(str(threshold_value("kit_rate_pct")))
    critical_days = int(threshold_value("kit_critical_days"))
    firing = []
    for kit in order_kits(today=today) if kits is None else kits:
        if kit.rate >= wanted_rate:
            continue
        days_to_start = (kit.start_date - today).days
        firing.append(
            Firing(
                key=kit.order_code,
                title=_("生产订单 %(code)s %(name)s 将于 %(start)s 开工，齐套率 %(rate).0f%%")
                % {"code": kit.order_code, "name": kit.product_name, "start": kit.start_date, "rate": kit.rate},
                detail="；".join(kit.missing),
                labels={"kit_rate": f"{kit.rate:.0f}", "date": kit.business_date},
                severity=Severity.CRITICAL if days_to_start <= critical_days else Severity.WARNING,
                link=admin_link(ProductionMaterialLine, kit.order_code),
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
        .annotate(arrived=arrived_quantity())
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
                    "arrived": quantity(row["arrived"]),
                    "qty": quantity(row["quantity"]),
                },
                labels={"vendor": row["vendor_name"], "material": row["product_code"], "date": row["business_date"]},
                severity=Severity.CRITICAL if days_late > critical_days else Severity.WARNING,
                link=admin_link(PurchaseOrder, row["code"]),
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
                link=admin_link(PurchaseOrder, row["code"]),
            )
        )
    return firing
