"""月度工时成本计算: last month's timesheet hours × the person's hourly rate, per person and
project. One aggregate read and the month's rows replaced in one transaction."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone

from alerts.registry import job
from projects.models import MonthlyLaborCost, Timesheet

CENT = Decimal("0.01")


def _last_month(now: datetime) -> tuple[date, date]:
    first_of_this = timezone.localdate(now).replace(day=1)
    return (first_of_this - timedelta(days=1)).replace(day=1), first_of_this


@transaction.atomic
def compute_monthly_labor_cost(*, now: datetime) -> dict:
    """Hours and cost per (project, person) of the local month before `now`'s."""
    first, next_first = _last_month(now)
    cost = ExpressionWrapper(F("hours") * F("hourly_rate"), output_field=DecimalField(max_digits=16, decimal_places=3))
    groups = (
        Timesheet.objects.filter(work_date__gte=first, work_date__lt=next_first, project__deleted_at__isnull=True)
        .values("project_id", "person")
        .annotate(total_hours=Sum("hours"), total_cost=Sum(cost))
    )
    rows = [
        MonthlyLaborCost(
            month=first,
            project_id=group["project_id"],
            person=group["person"],
            hours=group["total_hours"],
            # SQLite sums decimals as floats: round once, here, to the cent.
            cost=Decimal(str(group["total_cost"] or 0)).quantize(CENT, rounding=ROUND_HALF_UP),
            computed_at=now,
        )
        for group in groups
    ]
    MonthlyLaborCost.objects.filter(month=first).delete()
    MonthlyLaborCost.objects.bulk_create(rows, batch_size=500)
    return {
        "month": first.strftime("%Y-%m"),
        "rows": len(rows),
        "cost": str(sum((row.cost for row in rows), Decimal(0))),
    }


@job(
    id="calculate_monthly_labor_cost_task",
    name="月度工时成本计算",
    cron="0 2 1 * *",
    category="汇总",
    risk="low",
    sla_s=600,
    reads=["projects_project", "projects_timesheet"],
    writes=["projects_monthlylaborcost"],
    description="按人员和项目计算上月工时 × 小时费率的成本并保存（重算时替换该月数据）",
)
def calculate_monthly_labor_cost_task(*, now: datetime | None = None) -> dict:
    return compute_monthly_labor_cost(now=now or timezone.now())
