"""Read-side queries of the projects app, shared by the API, the pages and the admin."""

from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from alerts.models import JobRun
from projects.models import DutyTask, Milestone, PaymentPlan, Project, ProjectChange, ProjectSyncRun

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
    return ProjectSyncRun.objects.prefetch_related(
        Prefetch("changes", queryset=ProjectChange.objects.order_by("remote_id"))
    ).order_by("-started_at", "-id")


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
