"""Read-side queries of the projects app, shared by the API, the pages and the admin."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, F, Prefetch, QuerySet, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_lazy

from alerts.models import JobRun
from projects.models import (
    DutyTask,
    Milestone,
    PaymentPlan,
    Project,
    ProjectChange,
    ProjectHealth,
    ProjectProgressSummary,
    ProjectSyncRun,
)

# What a customer is told of a project's health: its level in plain words, never the score or the
# reasons (they name costs and internal issues).
CUSTOMER_HEALTH_WORDS = {
    ProjectHealth.Level.GOOD: gettext_lazy("进展正常"),
    ProjectHealth.Level.WATCH: gettext_lazy("需要关注"),
    ProjectHealth.Level.BAD: gettext_lazy("存在风险"),
}
CUSTOMER_TREND_DAYS = 30

SYNC_JOB_ID = "sync_projects"


def active_sync_run() -> JobRun | None:
    """The queued or running `sync_projects` run, if any (a manual start answers with it)."""
    return (
        JobRun.objects.filter(job_id=SYNC_JOB_ID, status__in=[JobRun.Status.QUEUED, JobRun.Status.RUNNING])
        .order_by("queued_at")
        .first()
    )


# The parts each view shows: a customer sees milestones and payments, staff everything.
CUSTOMER_PARTS = (
    Prefetch("milestones", queryset=Milestone.objects.order_by("position")),
    Prefetch("payment_plans", queryset=PaymentPlan.objects.order_by("due_date", "id")),
)
STAFF_PARTS = (*CUSTOMER_PARTS, "tasks", "issues")


def cached_project(*, source: str, remote_id: str, parts=STAFF_PARTS) -> Project | None:
    """The cached copy with `parts` (even one the remote deleted: callers decide what to show)."""
    return Project.objects.filter(source=source, remote_id=remote_id).prefetch_related(*parts).first()


def with_parts(project: Project, parts=STAFF_PARTS) -> Project:
    """Attach `parts` to a project row already loaded (a customer link's), without loading it again."""
    prefetch_related_objects([project], *parts)
    return project


def project_list(
    *,
    project_type: str = "",
    status: str = "",
    customer: str = "",
    owner: str = "",
    changed_since=None,
    include_deleted: bool = False,
) -> QuerySet[Project]:
    projects = Project.objects.all()
    if not include_deleted:
        projects = projects.filter(deleted_at__isnull=True)
    if project_type:
        projects = projects.filter(project_type=project_type)
    if status:
        projects = projects.filter(status=status)
    if customer:
        projects = projects.filter(customer_name__icontains=customer)
    if owner:
        projects = projects.filter(owner_name__icontains=owner) | projects.filter(owner_id=owner)
    if changed_since is not None:
        projects = projects.filter(changed_at__gte=changed_since)
    return projects.order_by("source", "remote_id")


def sync_history() -> QuerySet[ProjectSyncRun]:
    """Runs newest first, each with `changes_total`; their changes come from `first_changes`."""
    return ProjectSyncRun.objects.annotate(changes_total=Count("changes")).order_by("-started_at", "-id")


def first_changes(runs, *, per_run: int) -> dict[int, list[ProjectChange]]:
    """The first `per_run` changes (by project) of each run, in one query: a first sync creates
    every project, and listing them all made one history page megabytes."""
    by_run: dict[int, list[ProjectChange]] = {run.pk: [] for run in runs}
    if per_run:
        ranked = (
            ProjectChange.objects.filter(run__in=list(by_run))
            .annotate(
                rank=Window(RowNumber(), partition_by=F("run_id"), order_by=(F("remote_id").asc(), F("id").asc()))
            )
            .filter(rank__lte=per_run)
            .order_by("run_id", "rank")
        )
        for change in ranked:
            by_run[change.run_id].append(change)
    return by_run


def duty_tasks(*, day, username: str | None, person: str = "") -> QuerySet[DutyTask]:
    """The duty tasks of a day: one account's (`username`), or everyone's (None), by person."""
    tasks = DutyTask.objects.filter(day=day).select_related("template__role")
    if username is not None:
        tasks = tasks.filter(username=username)
    if person:
        tasks = tasks.filter(person_name__icontains=person)
    return tasks.order_by("person_name", "template__role__name", "title", "id")


def duty_task_for(*, task_id: int, username: str | None) -> DutyTask | None:
    """The task if this account may mark it (its own, or any for staff: `username` None)."""
    tasks = DutyTask.objects.filter(pk=task_id)
    if username is not None:
        tasks = tasks.filter(username=username)
    return tasks.first()


@dataclass
class CustomerResults:
    """What the jobs computed about a project, in the words a customer may see."""

    progress: float
    milestones_done: int
    milestones_total: int
    milestones_overdue: int
    progress_trend: list[tuple[date, float]]
    health_words: str
    health_level: str


def customer_results(*, project: Project, milestones: list[Milestone], today: date) -> CustomerResults:
    """The stored progress summary (with its last days) and the health level of the latest day,
    and the milestones' states; the project's own progress when the jobs have not run yet."""
    trend = list(
        ProjectProgressSummary.objects.filter(
            project=project, day__gt=today - timedelta(days=CUSTOMER_TREND_DAYS), day__lte=today
        )
        .order_by("day")
        .values_list("day", "progress_pct")
    )
    level = (
        ProjectHealth.objects.filter(project=project, day__lte=today).order_by("-day").values_list("level", flat=True)
    ).first()
    return CustomerResults(
        progress=trend[-1][1] if trend else float(project.progress),
        milestones_done=sum(m.status == Milestone.Status.DONE for m in milestones),
        milestones_total=len(milestones),
        milestones_overdue=sum(
            m.status != Milestone.Status.DONE and m.planned_date is not None and m.planned_date < today
            for m in milestones
        ),
        progress_trend=trend,
        health_words=str(CUSTOMER_HEALTH_WORDS.get(level, "")),
        health_level=level or "",
    )
