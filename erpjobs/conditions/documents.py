"""What the queries share about the synced documents: the closed status, quantities as people
write them, links to the admin, and per material the stock and what open purchases still owe."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from urllib.parse import urlencode

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import get_urlconf, reverse

from alerts.alerting.messages import absolute_url
from sync.models import (
    MaterialStock,
    PurchaseArrival,
    PurchaseOrder,
)

CLOSED = 2  # the ERP's 已关闭: a closed order no longer owes anything


def quantity(value: Decimal) -> str:
    """A quantity as people write it, the same on every database: 90, 12.5 (not 90.0000)."""
    return format(Decimal(value).normalize(), "f")


@lru_cache(maxsize=64)
def _changelist_path(label: str, urlconf: str | None) -> str:
    # Reversed once per model and URLconf: a first run links thousands of alerts, and reverse()
    # per alert was a tenth of check_delivery_delay's first run.
    return reverse(f"admin:{label}_changelist", urlconf=urlconf)


def admin_link(model, code: str) -> str:
    """The admin list of `model` searched for `code` (quoted: codes may hold & # or spaces)."""
    meta = model._meta
    path = _changelist_path(f"{meta.app_label}_{meta.model_name}", get_urlconf())
    return absolute_url(f"{path}?{urlencode({'q': code})}")


def arrived_quantity():
    """Per purchase order (OuterRef "code"): the quantity arrived against it so far, 0 if none."""
    arrived = (
        PurchaseArrival.objects.filter(source_order_code=OuterRef("code"))
        .values("source_order_code")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(arrived), Value(Decimal(0), output_field=DecimalField(max_digits=18, decimal_places=4)))


def latest_stock_by_material(today: date) -> dict[str, Decimal]:
    """Stock per material over all warehouses, on the latest snapshot up to `today` (one query)."""
    latest = MaterialStock.objects.filter(business_date__lte=today).order_by("-business_date").values("business_date")
    rows = (
        MaterialStock.objects.filter(business_date=Subquery(latest[:1]))
        .values("product_code")
        .annotate(stock=Sum("current_quantity"))
        .order_by()
    )
    return {row["product_code"]: row["stock"] for row in rows}


def open_purchases_by_material(until: date) -> dict[str, Decimal]:
    """Per material, what open purchase orders planned to arrive by `until` still owe (one query)."""
    rows = (
        PurchaseOrder.objects.filter(arrival_date__lte=until)
        .exclude(status=CLOSED)
        .annotate(owed=F("quantity") - arrived_quantity())
        .values("product_code")
        .annotate(open=Sum("owed"))
        .order_by()
    )
    return {row["product_code"]: max(row["open"] or Decimal(0), Decimal(0)) for row in rows}
