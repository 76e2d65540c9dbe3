"""The project-side business jobs of the seed (issue 14) that raise alerts: milestones, tasks,
issues, costs, payments and workload, read from the project cache.

Each job is one `@job` declaration (the seed's id, Chinese name and time) and one rule with the
same id; its body runs one or two set-based queries over the cache, builds the `Firing` of every
key still true and hands the whole set to `evaluate_rule`, which raises new keys, refreshes known
ones (dedupe) and resolves the ones gone. Thresholds are declared here and read at run time, so
staff change them in the admin (validated) without a deploy.
"""

from projects.alert_jobs.common import declared_default
from projects.alert_jobs.issues import (
    check_blocking_issues,
    check_issue_timeout_escalation,
    check_overdue_issues,
    check_timeout_issues,
)
from projects.alert_jobs.money import check_cost_overrun_alerts, check_payment_reminder
from projects.alert_jobs.payment_plans import check_milestone_status_and_adjust_payments
from projects.alert_jobs.presale import check_opportunity_stage_timeout, check_presale_workorder_timeout
from projects.alert_jobs.schedule import (
    check_milestone_alerts,
    check_milestone_risk_alerts,
    check_task_deadline_reminder,
    check_task_delay_alerts,
)
from projects.alert_jobs.workload import check_workload_overload_alerts

__all__ = [
    "check_blocking_issues",
    "check_cost_overrun_alerts",
    "check_issue_timeout_escalation",
    "check_milestone_alerts",
    "check_milestone_risk_alerts",
    "check_milestone_status_and_adjust_payments",
    "check_opportunity_stage_timeout",
    "check_overdue_issues",
    "check_payment_reminder",
    "check_presale_workorder_timeout",
    "check_task_deadline_reminder",
    "check_task_delay_alerts",
    "check_timeout_issues",
    "check_workload_overload_alerts",
    "declared_default",
]
