"""Read-side queries of the ERP jobs' reports: a day's production figures, and the stored reports
with what their charts draw. Each reads a fixed number of times, whatever the rows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from erpjobs.conditions.documents import CLOSED, quantity
from erpjobs.models import DailyReport
from sync.models import ProductionOrder, WorkReport

DECIMAL = DecimalField(max_digits=18, decimal_places=4)


def _rate(done: Decimal, planned: Decimal) -> str | None:
    """A completion share as stored in a report (one decimal), None when nothing was planned."""
    if not planned:
        return None
    return str((Decimal(done) * 100 / Decimal(planned)).quantize(Decimal("0.1")))


def production_of_day(day: date) -> dict:
    """The production figures of `day`, per product: orders planned to finish that day, their
    planned and finished quantities (finished counted up to the plan) and completion; what the
    shop floor reported that day (work reports by report time, local); and every open order late
    by the end of `day`. Three queries."""
    due = list(
        ProductionOrder.objects.filter(finish_date=day)
        .values("product_code")
        .annotate(
            name=Max("product_name"),
            orders=Count("pk"),
            planned=Sum("quantity"),
            finished=Sum(Least(F("finished_quantity"), F("quantity")), output_field=DECIMAL),
        )
        .order_by("product_code")
    )
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    product_of_order = ProductionOrder.objects.filter(code=OuterRef("order_code")).values("product_code")[:1]
    reported = (
        WorkReport.objects.filter(reported_at__gte=start, reported_at__lt=start + timedelta(days=1))
        .annotate(product=Coalesce(Subquery(product_of_order), Value("")))
        .values("product")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    output = {row["product"]: row["total"] for row in reported}
    reported_total = sum(output.values(), Decimal(0))
    products = []
    for row in due:
        products.append(
            {
                "product_code": row["product_code"],
                "product_name": row["name"],
                "orders": row["orders"],
                "planned": quantity(row["planned"]),
                "finished": quantity(row["finished"]),
                "rate": _rate(row["finished"], row["planned"]),
                "reported": quantity(output.pop(row["product_code"], Decimal(0))),
            }
        )
    # Output reported on products with nothing due that day is production too.
    for code, total in sorted(output.items()):
        products.append(
            {
                "product_code": code,
                "product_name": "",
                "orders": 0,
                "planned": "0",
                "finished": "0",
                "rate": None,
                "reported": quantity(total),
            }
        )
    late = (
        ProductionOrder.objects.filter(finish_date__lte=day, finished_quantity__lt=F("quantity"))
        .exclude(status=CLOSED)
        .values("code", "product_code", "product_name", "quantity", "finished_quantity", "finish_date")
        .order_by("finish_date", "code")
    )
    late_orders = [
        {
            "code": row["code"],
            "product_code": row["product_code"],
            "product_name": row["product_name"],
            "planned": quantity(row["quantity"]),
            "finished": quantity(row["finished_quantity"]),
            "finish_date": row["finish_date"].isoformat(),
            # Late by the end of `day`: an order due that day and unfinished is one day late.
            "days_late": (day - row["finish_date"]).days + 1,
        }
        for row in late
    ]
    planned = sum((row["planned"] for row in due), Decimal(0))
    finished = sum((row["finished"] for row in due), Decimal(0))
    return {
        "products": products,
        "late_orders": late_orders,
        "totals": {
            "orders": sum(row["orders"] for row in due),
            "planned": quantity(planned),
            "finished": quantity(finished),
            "rate": _rate(finished, planned),
            "reported": quantity(reported_total),
            "late_orders": len(late_orders),
        },
    }


# --- The reports page --------------------------------------------------------------------------

CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM = 600, 180, 16, 24


def recent_reports(*, days: int, today: date) -> list[DailyReport]:
    """The stored reports of the last `days` days, newest first (one query)."""
    return list(
        DailyReport.objects.filter(report_date__gt=today - timedelta(days=days))
        .select_related("notification")
        .order_by("-report_date", "kind")
    )


def _bars(points: list[tuple[date, float | None]], *, ceiling: float, part: int = 0, parts: int = 1) -> list[dict]:
    """Bars of an inline SVG chart (coordinates in the chart's viewBox), oldest on the left; with
    `parts` series side by side in each day's slot, this is series `part`."""
    if not points:
        return []
    slot = CHART_WIDTH / len(points)
    bar = slot * 0.7 / parts
    usable = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    bars = []
    for index, (day, value) in enumerate(points):
        height = 0.0 if value is None else usable * min(value, ceiling) / ceiling if ceiling else 0.0
        bars.append(
            {
                "x": round(index * slot + slot * 0.15 + part * bar, 1),
                "width": round(bar, 1),
                "y": round(CHART_TOP + usable - height, 1),
                "height": round(height, 1),
                "label_x": round(index * slot + slot / 2, 1),
                "day": day,
                "value": value,
            }
        )
    return bars


def report_charts(reports: list[DailyReport]) -> dict:
    """What the page draws: production completion (%) per reported day, and the shortage trend
    (materials short, orders not kitted) per day, from the stored reports' content."""
    production = sorted(
        (report.report_date, report.content.get("totals", {}).get("rate"))
        for report in reports
        if report.kind == DailyReport.Kind.PRODUCTION
    )
    shortage = sorted(
        (report.report_date, len(report.content.get("shortages", [])), len(report.content.get("unkitted", [])))
        for report in reports
        if report.kind == DailyReport.Kind.SHORTAGE
    )
    completion = [(day, float(rate) if rate is not None else None) for day, rate in production]
    most = max((max(short, unkitted) for _day, short, unkitted in shortage), default=0)
    ceiling = max(most, 1)
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "baseline": CHART_HEIGHT - CHART_BOTTOM,
        "completion": _bars(completion, ceiling=100.0),
        "shortages": _bars([(day, float(short)) for day, short, _u in shortage], ceiling=ceiling, parts=2),
        "unkitted": _bars([(day, float(unkitted)) for day, _s, unkitted in shortage], ceiling=ceiling, part=1, parts=2),
        "shortage_ceiling": ceiling,
    }
