"""How projects, runs, changes and links look in API answers (plain dicts: the cached read is the
hot path, and a DRF serializer per field would cost more than the query)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from projects import links
from projects.models import CustomerLink, Project, ProjectChange, ProjectStatus, ProjectSyncRun, ProjectType


def _value(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def project_summary(project: Project) -> dict:
    return {
        "id": project.remote_id,
        "source": project.source,
        "name": project.name,
        "type": project.project_type,
        "type_display": project.get_project_type_display(),
        "status": project.status,
        "status_display": project.get_status_display(),
        "progress": project.progress,
        "customer": project.customer_name,
        "owner": project.owner_name,
        "planned_end": _value(project.planned_end),
        "changed_at": _value(project.changed_at),
        "fetched_at": _value(project.fetched_at),
        "sync_error_code": project.sync_error_code,
    }


def project_payload(project: Project, *, for_customer: bool) -> dict:
    """The project with its parts; a customer sees progress, milestones and payments, not costs,
    issues, tasks or timesheets."""
    data = {
        **project_summary(project),
        "planned_start": _value(project.planned_start),
        "actual_start": _value(project.actual_start),
        "actual_end": _value(project.actual_end),
        "deleted": project.deleted_at is not None,
        "milestones": [
            {
                "id": milestone.remote_id,
                "name": milestone.name,
                "planned_date": _value(milestone.planned_date),
                "actual_date": _value(milestone.actual_date),
                "status": milestone.status,
                "status_display": milestone.get_status_display(),
                "payment_share": _value(milestone.payment_share),
            }
            for milestone in project.milestones.all()
        ],
        "payment_plans": [
            {
                "id": plan.remote_id,
                "name": plan.name,
                "amount": _value(plan.amount),
                "due_date": _value(plan.due_date),
                "received_amount": _value(plan.received_amount),
                "received_date": _value(plan.received_date),
            }
            for plan in project.payment_plans.all()
        ],
    }
    if for_customer:
        for internal in ("sync_error_code", "source"):
            data.pop(internal)
        return data
    data.update(
        budget=_value(project.budget),
        actual_cost=_value(project.actual_cost),
        owner_id=project.owner_id,
        customer_id=project.customer_id,
        remote_updated_at=_value(project.remote_updated_at),
        content_hash=project.content_hash,
        tasks=[
            {
                "id": task.remote_id,
                "name": task.name,
                "assignee": task.assignee,
                "due_date": _value(task.due_date),
                "progress": task.progress,
                "status": task.status,
            }
            for task in project.tasks.all()
        ],
        issues=[
            {
                "id": issue.remote_id,
                "title": issue.title,
                "severity": issue.severity,
                "blocking": issue.blocking,
                "opened_at": _value(issue.opened_at),
                "responded_at": _value(issue.responded_at),
                "resolved_at": _value(issue.resolved_at),
                "due_at": _value(issue.due_at),
            }
            for issue in project.issues.all()
        ],
    )
    return data


LABELS = {"status": dict(ProjectStatus.choices), "project_type": dict(ProjectType.choices)}


def change_payload(change: ProjectChange) -> dict:
    """The change with readable values where the field has labels: status 进行中 → 已完成."""
    readable = {}
    for name, (before, after) in change.diff.items():
        labels = LABELS.get(name)
        readable[name] = [str(labels.get(before, before)), str(labels.get(after, after))] if labels else [before, after]
    return {
        "project_id": change.remote_id,
        "source": change.source,
        "kind": change.kind,
        "kind_display": change.get_kind_display(),
        "diff": change.diff,
        "diff_display": readable,
        "changed_at": _value(change.changed_at),
    }


def sync_run_payload(run: ProjectSyncRun, *, changes: list[dict] | None = None) -> dict:
    data = {
        "id": run.pk,
        "mode": run.mode,
        "status": run.status,
        "status_display": run.get_status_display(),
        "started_at": _value(run.started_at),
        "finished_at": _value(run.finished_at),
        "duration_s": run.duration_s,
        "projects_total": run.projects_total,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "deleted": run.deleted,
        "failed": run.failed,
        "failures": run.failures,
        "error_code": run.error_code,
        "error": run.error,
    }
    if changes is not None:
        data["changes"] = changes
    return data


def link_payload(link: CustomerLink, request, *, with_token: bool = True) -> dict:
    data = {
        "id": link.pk,
        "project_id": link.project.remote_id,
        "state": link.state(),
        "created_at": _value(link.created_at),
        "expires_at": _value(link.expires_at),
        "revoked_at": _value(link.revoked_at),
        "note": link.note,
        "qr_url": request.build_absolute_uri(f"/api/projects/links/{link.pk}/qr.svg"),
    }
    if with_token:
        data["token"] = links.token_for(link)
        data["url"] = request.build_absolute_uri(links.customer_path(link))
    return data
