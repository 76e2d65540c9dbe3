"""Cleanup of the project cache and customer links (the 02:00 and 03:00 jobs)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from projects.models import CustomerLink, Project, ProjectSyncRun

# An expired or revoked link is kept this long so its page can still say "expired"/"revoked".
LINK_KEPT_AFTER_END = timedelta(days=30)


def delete_expired_cache(*, now: datetime | None = None) -> dict:
    """Projects deleted at the remote longer than the retention ago, and old sync history."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PROJECTS_CACHE_RETENTION_DAYS)
    projects = Project.objects.filter(deleted_at__lt=cutoff).delete()[1].get("projects.Project", 0)
    runs_cutoff = now - timedelta(days=settings.JOB_RUN_RETENTION_DAYS)
    runs = ProjectSyncRun.objects.filter(started_at__lt=runs_cutoff).delete()[1].get("projects.ProjectSyncRun", 0)
    return {"projects": projects, "sync_runs": runs}


def delete_expired_links(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - LINK_KEPT_AFTER_END
    return CustomerLink.objects.filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)).delete()[0]
