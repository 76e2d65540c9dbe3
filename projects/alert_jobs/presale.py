"""售前 alerts: presale work orders open beyond their time limit, and opportunities of 售前
projects stuck in one stage beyond that stage's limit."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.alerting.lifecycle import Firing
from alerts.alerting.messages import in_site_language
from alerts.alerting.models import Severity
from alerts.alerting.thresholds import ThresholdSpec, declare_threshold, threshold_value
from projects.alert_jobs.common import (
    ACTIVE_STATUSES,
    PROJECT_FIELDS,
    Declared,
    alert_key,
    declare_job_rule,
    evaluate,
    project_labels,
    project_link,
)
from projects.models import PresaleWorkOrder, Project, ProjectType

# The remote's stage codes, their names and how many days an opportunity may stay in each.
STAGES = (
    ("lead", "线索", 14),
    ("qualify", "需求确认", 21),
    ("proposal", "方案", 30),
    ("quote", "报价", 14),
    ("negotiation", "谈判", 30),
)
STAGE_NAMES = {code: name for code, name, _days in STAGES}

declare_threshold(
    ThresholdSpec(
        "presale_workorder_sla_hours",
        gettext_lazy("售前工单：打开多少小时未关闭提醒"),
        gettext_lazy("小时"),
        48,
        1,
        720,
    )
)
for _code, _name, _default in STAGES:
    declare_threshold(
        ThresholdSpec(
            f"opportunity_stage_{_code}_days", f"商机阶段时限（{_name}）", gettext_lazy("天"), _default, 1, 365
        )
    )

WORK_ORDERS = Declared(
    "check_presale_workorder_timeout", "售前工单超时提醒", "0 16 * * *", Severity.WARNING, "尽快处理并关闭售前工单"
)
STAGE_TIMEOUT = Declared(
    "check_opportunity_stage_timeout",
    "商机阶段超时提醒",
    "30 15 * * *",
    Severity.WARNING,
    "推进商机到下一阶段或更新商机状态",
)


def overdue_work_orders(*, now: datetime) -> list[Firing]:
    """Open work orders of live 售前 projects opened longer ago than the time limit."""
    limit = timedelta(hours=threshold_value("presale_workorder_sla_hours"))
    rows = (
        PresaleWorkOrder.objects.filter(
            closed_at__isnull=True,
            opened_at__lt=now - limit,
            project__deleted_at__isnull=True,
            project__project_type=ProjectType.PRESALES,
        )
        .exclude(project__status="cancelled")
        .values("remote_id", "title", "opened_at", *PROJECT_FIELDS)
    )
    firing = []
    for row in rows:
        age = now - row["opened_at"]
        firing.append(
            Firing(
                key=alert_key(row, row["remote_id"]),
                title=_("项目 %(project)s 售前工单“%(title)s”已打开 %(hours)s 小时")
                % {
                    "project": row["project__remote_id"],
                    "title": row["title"],
                    "hours": int(age.total_seconds() // 3600),
                },
                labels=project_labels(row),
                link=project_link(row),
                severity=Severity.CRITICAL if age > 2 * limit else Severity.WARNING,
            )
        )
    return firing


def stuck_opportunities(*, now: datetime) -> list[Firing]:
    """Active 售前 projects whose opportunity has been in its stage longer than that stage's limit."""
    limits = {code: timedelta(days=threshold_value(f"opportunity_stage_{code}_days")) for code, _n, _d in STAGES}
    past_limit = Q(pk__in=[])
    for code, limit in limits.items():
        past_limit |= Q(opportunity_stage=code, stage_entered_at__lt=now - limit)
    rows = Project.objects.filter(
        past_limit, deleted_at__isnull=True, status__in=ACTIVE_STATUSES, project_type=ProjectType.PRESALES
    ).values("pk", "source", "remote_id", "customer_name", "owner_name", "opportunity_stage", "stage_entered_at")
    firing = []
    for row in rows:
        project = {
            "project_id": row["pk"],
            "project__source": row["source"],
            "project__remote_id": row["remote_id"],
            "project__customer_name": row["customer_name"],
            "project__owner_name": row["owner_name"],
        }
        stage, days = row["opportunity_stage"], (now - row["stage_entered_at"]).days
        firing.append(
            Firing(
                key=alert_key(project, row["remote_id"]),
                title=_("项目 %(project)s 商机停留在“%(stage)s”阶段 %(days)s 天")
                % {"project": row["remote_id"], "stage": STAGE_NAMES.get(stage, stage), "days": days},
                labels=project_labels(project, stage=stage),
                link=project_link(project),
                severity=Severity.CRITICAL if now - row["stage_entered_at"] > 2 * limits[stage] else Severity.WARNING,
            )
        )
    return firing


@declare_job_rule(
    WORK_ORDERS,
    reads=["projects_project", "projects_presaleworkorder"],
    description="售前项目中打开超过时限仍未关闭的工单",
    category="检查",
)
@in_site_language
def check_presale_workorder_timeout(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(WORK_ORDERS.id, overdue_work_orders(now=now), now)


@declare_job_rule(
    STAGE_TIMEOUT,
    reads=["projects_project"],
    description="售前项目的商机在某一阶段停留超过该阶段时限",
    category="推送",
)
@in_site_language
def check_opportunity_stage_timeout(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    return evaluate(STAGE_TIMEOUT.id, stuck_opportunities(now=now), now)
