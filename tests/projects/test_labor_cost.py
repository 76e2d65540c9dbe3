"""Monthly labor cost over timesheets written by the projects sync service: exact hours × rate per
person and project of the month before, and a re-run replacing that month's rows."""

from datetime import UTC, datetime

from projects import cache, labor_cost
from projects.models import MonthlyLaborCost
from sandbox.projects import build_project

# 02:00 Shanghai on 1 July 2026 (18:00 UTC the day before): the job costs June.
NOW = datetime(2026, 6, 30, 18, 0, tzinfo=UTC)


def test_last_months_hours_times_rate_per_person_and_project(db):
    document = build_project(1, 0, status="in_progress")
    document["timesheets"] = [
        {"person": "张伟", "date": "2026-06-01", "hours": "8.0", "rate": "100.00"},
        {"person": "张伟", "date": "2026-06-30", "hours": "2.5", "rate": "120.00"},  # the rate went up
        {"person": "王芳", "date": "2026-06-15", "hours": "4.0", "rate": "150.50"},
        {"person": "王芳", "date": "2026-05-31", "hours": "9.0", "rate": "150.50"},  # May: not this run's
        {"person": "王芳", "date": "2026-07-01", "hours": "9.0", "rate": "150.50"},  # July: not yet
    ]
    cache.store_documents(source="main", documents=[document], now=NOW)

    assert labor_cost.calculate_monthly_labor_cost_task(now=NOW) == {"month": "2026-06", "rows": 2, "cost": "1702.00"}
    costs = {row.person: (str(row.hours), str(row.cost)) for row in MonthlyLaborCost.objects.all()}
    assert costs == {"张伟": ("10.5", "1100.00"), "王芳": ("4.0", "602.00")}

    labor_cost.calculate_monthly_labor_cost_task(now=NOW)
    assert MonthlyLaborCost.objects.count() == 2
