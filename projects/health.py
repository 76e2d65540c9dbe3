"""Progress summary and health score of every active project (进度汇总计算, 健康度自动计算,
健康度快照): a few aggregate reads of the cache and one upsert of the day's row per project, so
the day's last computation is that day's point on the trend chart."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Avg, Count, F, Q, Sum
from django.utils import timezone

from alerts.alerting.thresholds import threshold_value
from alerts.registry import job
from projects.models import (
    Milestone,
    PaymentPlan,
    Project,
    ProjectHealth,
    ProjectIssue,
    ProjectProgressSummary,
    ProjectStatus,
    Task,
)

ACTIVE_STATUSES = (ProjectStatus.NOT_STARTED, ProjectStatus.IN_PROGRESS, ProjectStatus.PAUSED)
# Milestones done weigh their payment share, tasks their progress; each half of the summary.
MILESTONE_WEIGHT = 0.5


def _active():
    return {"project__deleted_at__isnull": True, "project__status__in": ACTIVE_STATUSES}


@transaction.atomic
def summarise_progress(*, now: datetime) -> dict:
    """Per active project: the payment-share-weighted share of milestones done, the mean task
    progress, and their weighted mean (either alone when the project has only one kind)."""
    day = timezone.localdate(now)
    milestones = {
        row["project_id"]: row
        for row in Milestone.objects.filter(**_active())
        .values("project_id")
        .annotate(total=Sum("payment_share"), done=Sum("payment_share", filter=Q(status=Milestone.Status.DONE)))
    }
    tasks = dict(
        Task.objects.filter(**_active())
        .values("project_id")
        .annotate(mean=Avg("progress"))
        .values_list("project_id", "mean")
    )
    rows = []
    for project_id in sorted(set(milestones) | set(tasks)):
        shares = milestones.get(project_id)
        milestone_pct = (
            round(float(100 * (shares["done"] or 0) / shares["total"]), 2) if shares and shares["total"] else None
        )
        task_pct = round(float(tasks[project_id]), 2) if tasks.get(project_id) is not None else None
        if milestone_pct is not None and task_pct is not None:
            progress = round(MILESTONE_WEIGHT * milestone_pct + (1 - MILESTONE_WEIGHT) * task_pct, 2)
        else:
            progress = milestone_pct if milestone_pct is not None else task_pct
        rows.append(
            ProjectProgressSummary(
                project_id=project_id,
                day=day,
                milestone_pct=milestone_pct,
                task_pct=task_pct,
                progress_pct=progress,
                computed_at=now,
            )
        )
    ProjectProgressSummary.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["project", "day"],
        update_fields=["milestone_pct", "task_pct", "progress_pct", "computed_at"],
    )
    return {"day": day.isoformat(), "projects": len(rows)}


def _counts(queryset, **aggregates) -> dict[int, dict]:
    return {row["project_id"]: row for row in queryset.values("project_id").annotate(**aggregates)}


# Points lost per finding, and the most a kind of finding can cost.
PENALTIES = {
    "late": 30,
    "milestone": (10, 30),
    "over_budget": 20,
    "over_progress_budget": 10,
    "blocking": 20,
    "overdue_issue": (5, 15),
    "overdue_payment": (10, 20),
}


def _level(score: int) -> str:
    if score >= 80:
        return ProjectHealth.Level.GOOD
    return ProjectHealth.Level.WATCH if score >= 60 else ProjectHealth.Level.BAD


@transaction.atomic
def score_health(*, now: datetime) -> dict:
    """Per active project: 100 minus the points of each finding (past its planned end, overdue
    milestones, cost over budget or over the budget share of progress by the cost tolerance, open
    blocking issues, overdue issues, overdue payments), with the reasons in Chinese."""
    day = timezone.localdate(now)
    tolerance = Decimal(1) + Decimal(str(threshold_value("cost_overrun_tolerance_pct"))) / 100
    projects = Project.objects.filter(deleted_at__isnull=True, status__in=ACTIVE_STATUSES).values(
        "pk", "planned_end", "budget", "actual_cost", "progress"
    )
    late_milestones = _counts(
        Milestone.objects.filter(status=Milestone.Status.PENDING, planned_date__lt=day, **_active()), n=Count("pk")
    )
    issues = _counts(
        ProjectIssue.objects.filter(resolved_at__isnull=True, **_active()),
        blocking=Count("pk", filter=Q(blocking=True)),
        overdue=Count("pk", filter=Q(due_at__lt=now)),
    )
    payments = _counts(
        PaymentPlan.objects.filter(due_date__lt=day, received_amount__lt=F("amount"), **_active()), n=Count("pk")
    )
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    rows = []
    for project in projects:
        pk, reasons = project["pk"], found[project["pk"]]
        if project["planned_end"] and project["planned_end"] < day:
            reasons.append((PENALTIES["late"], f"已超过计划结束日期 {(day - project['planned_end']).days} 天"))
        if late := late_milestones.get(pk, {}).get("n"):
            per, most = PENALTIES["milestone"]
            reasons.append((min(per * late, most), f"{late} 个里程碑逾期"))
        budget, cost = project["budget"], project["actual_cost"]
        if budget > 0 and cost > budget * tolerance:
            reasons.append((PENALTIES["over_budget"], "实际成本超出预算"))
        elif budget > 0 and cost > budget * project["progress"] / 100 * tolerance:
            reasons.append((PENALTIES["over_progress_budget"], "实际成本超出进度对应预算"))
        if blocking := issues.get(pk, {}).get("blocking"):
            reasons.append((PENALTIES["blocking"], f"{blocking} 个阻塞问题未解决"))
        if overdue := issues.get(pk, {}).get("overdue"):
            per, most = PENALTIES["overdue_issue"]
            reasons.append((min(per * overdue, most), f"{overdue} 个问题逾期"))
        if unpaid := payments.get(pk, {}).get("n"):
            per, most = PENALTIES["overdue_payment"]
            reasons.append((min(per * unpaid, most), f"{unpaid} 笔收款逾期"))
        score = max(0, 100 - sum(points for points, _ in reasons))
        rows.append(
            ProjectHealth(
                project_id=pk,
                day=day,
                score=score,
                level=_level(score),
                reasons=[{"points": points, "reason": reason} for points, reason in reasons],
                computed_at=now,
            )
        )
    ProjectHealth.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["project", "day"],
        update_fields=["score", "level", "reasons", "computed_at"],
    )
    return {"day": day.isoformat(), "projects": len(rows), "bad": sum(row.level == "bad" for row in rows)}


@job(
    id="calculate_progress_summary",
    name="进度汇总计算",
    cron="0 * * * *",
    category="汇总",
    risk="low",
    sla_s=300,
    reads=["projects_project", "projects_milestone", "projects_task"],
    writes=["projects_projectprogresssummary"],
    description="按里程碑（回款比例加权）和任务进度汇总每个进行中项目的进度，每天一行作为历史",
)
def calculate_progress_summary(*, now: datetime | None = None) -> dict:
    return summarise_progress(now=now or timezone.now())


@job(
    id="calculate_project_health",
    name="健康度自动计算",
    cron="0 * * * *",
    category="其他",
    risk="low",
    sla_s=300,
    reads=["projects_project", "projects_milestone", "projects_projectissue", "projects_paymentplan"],
    writes=["projects_projecthealth"],
    description="根据进度、成本、问题和收款计算每个进行中项目的健康度及扣分原因",
)
def calculate_project_health(*, now: datetime | None = None) -> dict:
    return score_health(now=now or timezone.now())


@job(
    id="daily_health_snapshot",
    name="健康度快照",
    cron="0 2 * * *",
    category="其他",
    risk="low",
    sla_s=300,
    reads=["projects_project", "projects_milestone", "projects_projectissue", "projects_paymentplan"],
    writes=["projects_projecthealth"],
    description="保存每个项目当天的健康度（趋势图每天一个点；每小时的计算更新当天这一行）",
)
def daily_health_snapshot(*, now: datetime | None = None) -> dict:
    # The day's row exists even when the hourly job is paused; later hours refresh it.
    return score_health(now=now or timezone.now())
