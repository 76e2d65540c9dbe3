"""The staff project dashboard's read side: for one page of projects, their health and progress
with a trend (from the daily health rows and progress history the jobs store), open alerts,
overdue issues and payments due. A fixed number of queries per page, whatever its size."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from alerts.alerting.selectors import open_alerts_per_project
from alerts.alerting.thresholds import threshold_value
from projects.models import PaymentPlan, Project, ProjectHealth, ProjectIssue, ProjectProgressSummary

PAGE_SIZE = 25
TREND_DAYS = 14
# The sparkline's drawing box (SVG user units); values are percentages or scores out of 100.
SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def sparkline(points: list[tuple[date, float]], *, first_day: date, days: int = TREND_DAYS) -> str:
    """The `points` attribute of an SVG polyline: one vertex per day that has a value."""
    if not points:
        return ""
    step = SPARK_WIDTH / max(1, days - 1)
    return " ".join(
        f"{(day - first_day).days * step:.1f},{SPARK_HEIGHT - max(0.0, min(100.0, value)) * SPARK_HEIGHT / 100:.1f}"
        for day, value in points
    )


@dataclass
class DashboardRow:
    project: Project
    health_score: int | None = None
    health_level: str = ""
    health_label: str = ""
    health_reasons: list = field(default_factory=list)
    health_trend: str = ""
    progress: float | None = None
    progress_trend: str = ""
    open_alerts: int = 0
    critical_alerts: int = 0
    overdue_issues: int = 0
    payments_due: int = 0
    payments_due_amount: Decimal = Decimal(0)
    payments_overdue: int = 0


def rows_for(projects: list[Project], *, today: date, now: datetime | None = None) -> list[DashboardRow]:
    """One row per project of the page, in its order (six queries)."""
    now = now or timezone.now()
    ids = [project.pk for project in projects]
    first_day = today - timedelta(days=TREND_DAYS - 1)
    health = defaultdict(list)
    for row in ProjectHealth.objects.filter(project_id__in=ids, day__gte=first_day, day__lte=today).order_by("day"):
        health[row.project_id].append(row)
    progress = defaultdict(list)
    for project_id, day, pct in (
        ProjectProgressSummary.objects.filter(project_id__in=ids, day__gte=first_day, day__lte=today)
        .order_by("day")
        .values_list("project_id", "day", "progress_pct")
    ):
        progress[project_id].append((day, pct))
    alerts = open_alerts_per_project([project.remote_id for project in projects])
    overdue_issues = dict(
        ProjectIssue.objects.filter(project_id__in=ids, resolved_at__isnull=True, due_at__lt=now)
        .values("project_id")
        .annotate(n=Count("pk"))
        .values_list("project_id", "n")
    )
    horizon = today + timedelta(days=int(threshold_value("payment_due_within_days")))
    unpaid = PaymentPlan.objects.filter(project_id__in=ids, due_date__lte=horizon, received_amount__lt=F("amount"))
    payments = {
        row["project_id"]: row
        for row in unpaid.values("project_id").annotate(
            n=Count("pk"),
            overdue=Count("pk", filter=Q(due_date__lt=today)),
            amount=Sum(F("amount") - F("received_amount")),
        )
    }
    rows = []
    for project in projects:
        row = DashboardRow(project=project)
        if health[project.pk]:
            latest = health[project.pk][-1]
            row.health_score, row.health_level = latest.score, latest.level
            row.health_label, row.health_reasons = latest.get_level_display(), latest.reasons
            row.health_trend = sparkline([(h.day, h.score) for h in health[project.pk]], first_day=first_day)
        if progress[project.pk]:
            row.progress = progress[project.pk][-1][1]
            row.progress_trend = sparkline(progress[project.pk], first_day=first_day)
        counts = alerts.get(project.remote_id, {})
        row.open_alerts, row.critical_alerts = counts.get("open", 0), counts.get("critical", 0)
        row.overdue_issues = overdue_issues.get(project.pk, 0)
        due = payments.get(project.pk)
        if due:
            row.payments_due, row.payments_overdue = due["n"], due["overdue"]
            # SQLite sums decimals as floats: back to cents here.
            row.payments_due_amount = Decimal(str(due["amount"] or 0)).quantize(Decimal("0.01"))
        rows.append(row)
    return rows
