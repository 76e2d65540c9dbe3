"""Read-side queries of the projects app, shared by the API, the pages and the admin."""

from django.db.models import Prefetch, QuerySet

from alerts.models import JobRun
from projects.models import Milestone, PaymentPlan, Project, ProjectChange, ProjectSyncRun

SYNC_JOB_ID = "sync_projects"


def active_sync_run() -> JobRun | None:
    """The queued or running `sync_projects` run, if any (a manual start answers with it)."""
    return (
        JobRun.objects.filter(job_id=SYNC_JOB_ID, status__in=[JobRun.Status.QUEUED, JobRun.Status.RUNNING])
        .order_by("queued_at")
        .first()
    )


def cached_project(*, source: str, remote_id: str, with_parts: bool = True) -> Project | None:
    """The cached copy (even one the remote deleted: callers decide what to show of it)."""
    projects = Project.objects.filter(source=source, remote_id=remote_id)
    if with_parts:
        projects = projects.prefetch_related(
            Prefetch("milestones", queryset=Milestone.objects.order_by("position")),
            "tasks",
            "issues",
            Prefetch("payment_plans", queryset=PaymentPlan.objects.order_by("due_date", "id")),
        )
    return projects.first()


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
