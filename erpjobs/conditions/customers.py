"""Customers: overdue receivables by ageing bucket, and the sales reminders (orders, quotations,
opportunities)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Exists, F, OuterRef
from django.utils.translation import gettext as _

from alerts.alerting.lifecycle import Firing
from alerts.alerting.models import Severity
from alerts.alerting.thresholds import threshold_value
from erpjobs.conditions.documents import CLOSED, admin_link, latest_stock_by_material
from sync.models import (
    Opportunity,
    ProductionOrder,
    Quotation,
    Receivable,
    SalesOrder,
)


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
                link=admin_link(Receivable, customer_name),
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
    stock = latest_stock_by_material(today)
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
                link=admin_link(SalesOrder, row["code"]),
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
                link=admin_link(Quotation, row["code"]),
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
                link=admin_link(Opportunity, row["code"]),
            )
        )
    return firing
