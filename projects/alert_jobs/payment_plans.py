"""里程碑状态监控与收款计划调整: a completed milestone makes its payment plan due now; a delayed
one moves its plan's expected date by the delay. The expected date and why are written on our own
columns of the cached plan (the remote's `due_date` stays as the remote says) and each adjusted
plan is an alert with the job's id, resolved once the plan is received or stands again."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting.lifecycle import Firing
from alerts.alerting.messages import in_site_language
from alerts.alerting.models import Severity
from projects.alert_jobs.common import (
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
from projects.models import Milestone, PaymentPlan, ProjectStatus

MILESTONE_PAYMENTS = Declared(
    "check_milestone_status_and_adjust_payments",
    "里程碑状态监控与收款计划调整",
    "0 * * * *",
    Severity.WARNING,
    "按调整后的日期跟进收款，或与客户确认新的付款时间",
)


def adjust_payment_plans(*, now: datetime) -> list[Firing]:
    """Write each open plan's expected date (only the rows whose value changes) and return the
    plans adjusted, as alerts."""
    today = local_today(now)
    by_lateness = severity_by_lateness()
    grace = threshold_days("milestone_payment_grace_days")
    plans = list(
        PaymentPlan.objects.filter(project__deleted_at__isnull=True, received_amount__lt=F("amount"))
        .exclude(project__status=ProjectStatus.CANCELLED)
        .exclude(milestone_remote_id="")
        .values(
            "pk",
            "remote_id",
            "name",
            "due_date",
            "milestone_remote_id",
            "expected_date",
            "expected_reason",
            *PROJECT_FIELDS,
        )
    )
    milestones = {
        (row["project_id"], row["remote_id"]): row
        for row in Milestone.objects.filter(project_id__in={plan["project_id"] for plan in plans}).values(
            "project_id", "remote_id", "name", "status", "planned_date", "actual_date"
        )
    }
    changed, firing = [], []
    for plan in plans:
        milestone = milestones.get((plan["project_id"], plan["milestone_remote_id"]))
        expected, reason, severity = _expected(plan, milestone, today, grace, by_lateness)
        if (expected, reason) != (plan["expected_date"], plan["expected_reason"]):
            changed.append(PaymentPlan(pk=plan["pk"], expected_date=expected, expected_reason=reason))
        if expected is not None:
            firing.append(
                Firing(
                    key=alert_key(plan, plan["remote_id"]),
                    title=_("项目 %(project)s %(name)s：%(reason)s")
                    % {"project": plan["project__remote_id"], "name": plan["name"], "reason": reason},
                    labels=project_labels(plan, milestone=plan["milestone_remote_id"]),
                    link=project_link(plan),
                    severity=severity,
                )
            )
    PaymentPlan.objects.bulk_update(changed, ["expected_date", "expected_reason"], batch_size=500)
    return firing


def _expected(plan: dict, milestone: dict | None, today: date, grace: int, by_lateness) -> tuple[date | None, str, str]:
    if milestone is None:
        return None, "", ""
    if milestone["status"] == Milestone.Status.DONE:
        if plan["due_date"] is None or plan["due_date"] > today:
            done = milestone["actual_date"] or today
            return done, _("里程碑“%(name)s”已完成，款项已到期") % {"name": milestone["name"]}, Severity.WARNING
        return None, "", ""
    planned = milestone["planned_date"]
    if planned is None or plan["due_date"] is None:
        return None, "", ""
    late = (today - planned).days
    if late <= grace:
        return None, "", ""
    moved = plan["due_date"] + timedelta(days=late)
    reason = _("里程碑“%(name)s”延期 %(days)s 天，预计收款日顺延至 %(date)s") % {
        "name": milestone["name"],
        "days": late,
        "date": moved.isoformat(),
    }
    return moved, reason, by_lateness(late)


@declare_job_rule(
    MILESTONE_PAYMENTS,
    reads=["projects_project", "projects_milestone", "projects_paymentplan"],
    description="里程碑完成则对应收款计划到期；里程碑延期则顺延预计收款日期并预警",
    category="其他",
)
@in_site_language
def check_milestone_status_and_adjust_payments(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(MILESTONE_PAYMENTS.id, adjust_payment_plans(now=now), now)
