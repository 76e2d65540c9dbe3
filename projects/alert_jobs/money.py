"""Money alerts: cost overrun and payments due."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting.lifecycle import Firing
from alerts.alerting.messages import in_site_language
from alerts.alerting.models import Severity
from alerts.alerting.thresholds import threshold_value
from projects.alert_jobs.common import (
    ACTIVE_STATUSES,
    PROJECT_FIELDS,
    Declared,
    alert_key,
    declare_job_rule,
    evaluate,
    local_today,
    project_labels,
    project_link,
    severity_by_lateness,
    threshold_days,
)
from projects.models import PaymentPlan, ProjectStatus

# --- 成本超支预警 -------------------------------------------------------------------------------

COST_OVERRUN = Declared(
    "check_cost_overrun_alerts", "成本超支预警", "0 10 * * *", Severity.WARNING, "核对成本并与负责人确认预算"
)


def cost_overruns(*, now: datetime) -> list[Firing]:
    """Active projects whose actual cost exceeds the budget (critical), or the budget share of
    their progress (warning), by more than the tolerance."""
    from projects.models import Project

    tolerance = Decimal(1) + Decimal(str(threshold_value("cost_overrun_tolerance_pct"))) / 100
    rows = Project.objects.filter(
        deleted_at__isnull=True, status__in=ACTIVE_STATUSES, budget__gt=0, actual_cost__gt=0
    ).values("pk", "source", "remote_id", "customer_name", "owner_name", "budget", "actual_cost", "progress")
    firing = []
    for row in rows:
        budget, cost = row["budget"], row["actual_cost"]
        earned = budget * row["progress"] / 100
        if cost > budget * tolerance:
            severity = Severity.CRITICAL
            title = _("项目 %(project)s 实际成本 %(cost)s 超出预算 %(budget)s")
        elif cost > earned * tolerance:
            severity = Severity.WARNING
            title = _("项目 %(project)s 实际成本 %(cost)s 超出进度对应预算（预算 %(budget)s）")
        else:
            continue
        project = {
            "project_id": row["pk"],
            "project__source": row["source"],
            "project__remote_id": row["remote_id"],
            "project__customer_name": row["customer_name"],
            "project__owner_name": row["owner_name"],
        }
        firing.append(
            Firing(
                key=alert_key(project, row["remote_id"]),
                title=title % {"project": row["remote_id"], "cost": cost, "budget": budget},
                labels=project_labels(project),
                link=project_link(project),
                severity=severity,
            )
        )
    return firing


@declare_job_rule(COST_OVERRUN, reads=["projects_project"], description="实际成本超出预算或超出进度对应预算（含容差）")
@in_site_language
def check_cost_overrun_alerts(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(COST_OVERRUN.id, cost_overruns(now=now), now)


# --- 收款提醒服务 -------------------------------------------------------------------------------

PAYMENT_REMINDER = Declared(
    "check_payment_reminder", "收款提醒服务", "30 9 * * *", Severity.WARNING, "联系客户确认回款安排"
)


def payments_due(*, now: datetime) -> list[Firing]:
    """Payment plans not fully received, due within N days (info) or overdue (by lateness)."""
    from django.db.models import F

    today = local_today(now)
    by_lateness = severity_by_lateness()
    horizon = today + timedelta(days=threshold_days("payment_due_within_days"))
    rows = (
        PaymentPlan.objects.filter(
            due_date__lte=horizon, received_amount__lt=F("amount"), project__deleted_at__isnull=True
        )
        .exclude(project__status=ProjectStatus.CANCELLED)
        .values("remote_id", "name", "amount", "received_amount", "due_date", *PROJECT_FIELDS)
    )
    firing = []
    for row in rows:
        late = (today - row["due_date"]).days
        owed = row["amount"] - row["received_amount"]
        params = {"project": row["project__remote_id"], "name": row["name"], "owed": owed, "days": late}
        if late > 0:
            title, severity = (
                _("项目 %(project)s %(name)s 逾期 %(days)s 天未收，待收 %(owed)s") % params,
                by_lateness(late),
            )
        else:
            params["date"] = row["due_date"].isoformat()
            title, severity = _("项目 %(project)s %(name)s 将于 %(date)s 到期，待收 %(owed)s") % params, Severity.INFO
        firing.append(
            Firing(
                key=alert_key(row, row["remote_id"]),
                title=title,
                labels=project_labels(row),
                link=project_link(row),
                severity=severity,
            )
        )
    return firing


@declare_job_rule(
    PAYMENT_REMINDER,
    reads=["projects_project", "projects_paymentplan"],
    description="N 天内到期或已逾期且未收齐的收款计划",
    category="推送",
)
@in_site_language
def check_payment_reminder(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(PAYMENT_REMINDER.id, payments_due(now=now), now)
