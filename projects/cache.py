"""Writing remote project documents into the cache: parse, hash, compare, write only what changed.

`store_documents` is the one writer, used by the sync job and by on-demand reads alike: a document
whose content hash equals the cached one only moves `fetched_at`; the changed ones of a call replace
their rows and parts in one transaction (bulk statements), each leaving a `ProjectChange` with its field-level
diff (and, for a status change, the subscribers' outbox rows in the same transaction). No network
I/O happens here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from projects import notifications
from projects.models import (
    Milestone,
    PaymentPlan,
    PresaleWorkOrder,
    Project,
    ProjectChange,
    ProjectIssue,
    ProjectStatus,
    ProjectSyncRun,
    ProjectType,
    Task,
    Timesheet,
)

logger = logging.getLogger(__name__)

# Bookkeeping of the remote that says nothing about the project's content.
VOLATILE_KEYS = ("updated_at", "revision")
# Project fields compared for the diff, in the order people read them.
DIFF_FIELDS = (
    "name",
    "project_type",
    "status",
    "progress",
    "customer_name",
    "owner_name",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "budget",
    "actual_cost",
    "opportunity_stage",
)
PARTS = {
    "milestones": (Milestone, ("name", "planned_date", "actual_date", "status", "payment_share")),
    "tasks": (Task, ("name", "assignee", "due_date", "progress", "status")),
    "issues": (ProjectIssue, ("title", "severity", "blocking", "opened_at", "responded_at", "resolved_at", "due_at")),
    "work_orders": (PresaleWorkOrder, ("title", "opened_at", "closed_at")),
    "payment_plans": (
        PaymentPlan,
        ("name", "amount", "due_date", "received_amount", "received_date", "milestone_remote_id"),
    ),
}
UNCHANGED_UPDATE_CHUNK = 500
BULK_BATCH = 500


UPDATED_FIELDS = [
    field.name for field in Project._meta.concrete_fields if field.name not in ("id", "source", "remote_id")
]


class BadProjectDocument(ValueError):
    """The remote's document cannot be read as a project (a field missing or malformed)."""


def content_hash(document: dict) -> str:
    content = {key: value for key, value in document.items() if key not in VOLATILE_KEYS}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _date(value) -> date | None:
    return date.fromisoformat(value) if value else None


def _moment(value) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {value}")
    return moment


def _money(value) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else "0")).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None


@dataclass
class ParsedProject:
    fields: dict
    parts: dict[str, list[dict]]
    timesheets: list[dict]
    content_hash: str


def parse_document(document: dict) -> ParsedProject:
    """The project row's fields and its parts, from one remote document."""
    try:
        customer = document.get("customer") or {}
        owner = document.get("owner") or {}
        project_type = document["type"]
        status = document["status"]
        if project_type not in ProjectType.values or status not in ProjectStatus.values:
            raise ValueError(f"unknown type or status: {project_type}/{status}")
        fields = {
            "project_type": project_type,
            "name": str(document["name"])[:300],
            "customer_id": str(customer.get("id") or ""),
            "customer_name": str(customer.get("name") or ""),
            "customer_contacts": list(customer.get("contacts") or []),
            "owner_id": str(owner.get("id") or ""),
            "owner_name": str(owner.get("name") or ""),
            "owner_phone": str(owner.get("phone") or ""),
            "owner_email": str(owner.get("email") or ""),
            "owner_wecom_userid": str(owner.get("wecom_userid") or ""),
            "status": status,
            "progress": max(0, min(100, int(document.get("progress") or 0))),
            "planned_start": _date(document.get("planned_start")),
            "planned_end": _date(document.get("planned_end")),
            "actual_start": _date(document.get("actual_start")),
            "actual_end": _date(document.get("actual_end")),
            "budget": _money(document.get("budget")),
            "actual_cost": _money(document.get("actual_cost")),
            "remote_updated_at": _moment(document.get("updated_at")),
            "opportunity_stage": str((document.get("opportunity") or {}).get("stage") or ""),
            "stage_entered_at": _moment((document.get("opportunity") or {}).get("stage_entered_at")),
        }
        parts = {
            "milestones": [
                {
                    "remote_id": str(item["id"]),
                    "position": index,
                    "name": item["name"],
                    "planned_date": _date(item.get("planned_date")),
                    "actual_date": _date(item.get("actual_date")),
                    "status": item["status"],
                    "payment_share": _money(item.get("payment_share")),
                }
                for index, item in enumerate(document.get("milestones") or [])
            ],
            "tasks": [
                {
                    "remote_id": str(item["id"]),
                    "name": item["name"],
                    "assignee": item.get("assignee") or "",
                    "due_date": _date(item.get("due_date")),
                    "progress": max(0, min(100, int(item.get("progress") or 0))),
                    "status": item["status"],
                }
                for item in document.get("tasks") or []
            ],
            "issues": [
                {
                    "remote_id": str(item["id"]),
                    "title": item["title"],
                    "severity": item["severity"],
                    "blocking": bool(item.get("blocking")),
                    "opened_at": _moment(item["opened_at"]),
                    "responded_at": _moment(item.get("responded_at")),
                    "resolved_at": _moment(item.get("resolved_at")),
                    "due_at": _moment(item.get("due_at")),
                }
                for item in document.get("issues") or []
            ],
            "work_orders": [
                {
                    "remote_id": str(item["id"]),
                    "title": item["title"],
                    "opened_at": _moment(item["opened_at"]),
                    "closed_at": _moment(item.get("closed_at")),
                }
                for item in document.get("work_orders") or []
            ],
            "payment_plans": [
                {
                    "remote_id": str(item["id"]),
                    "name": item["name"],
                    "amount": _money(item.get("amount")),
                    "due_date": _date(item.get("due_date")),
                    "received_amount": _money(item.get("received_amount")),
                    "received_date": _date(item.get("received_date")),
                    "milestone_remote_id": str(item.get("milestone_id") or ""),
                }
                for item in document.get("payment_plans") or []
            ],
        }
        timesheets = [
            {
                "person": item["person"],
                "work_date": _date(item["date"]),
                "hours": Decimal(str(item["hours"])),
                "hourly_rate": _money(item.get("rate")),
            }
            for item in document.get("timesheets") or []
        ]
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise BadProjectDocument(f"{type(exc).__name__}: {exc}") from None
    return ParsedProject(fields=fields, parts=parts, timesheets=timesheets, content_hash=content_hash(document))


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def project_diff(old: Project | None, new: ParsedProject, old_parts: dict[str, list[dict]] | None = None) -> dict:
    """{"status": ["in_progress", "completed"], "milestones.P1-M2.status": ["pending", "done"], …}"""
    diff: dict[str, list] = {}
    for name in DIFF_FIELDS:
        before = _plain(getattr(old, name)) if old else None
        after = _plain(new.fields[name])
        if before != after:
            diff[name] = [before, after]
    for part, (_model, compared) in PARTS.items():
        before_rows = {row["remote_id"]: row for row in (old_parts or {}).get(part, [])}
        after_rows = {row["remote_id"]: row for row in new.parts[part]}
        for remote_id in sorted(before_rows.keys() | after_rows.keys()):
            before_row, after_row = before_rows.get(remote_id), after_rows.get(remote_id)
            if before_row is None or after_row is None:
                diff[f"{part}.{remote_id}"] = [
                    None if before_row is None else "present",
                    None if after_row is None else "present",
                ]
                continue
            for name in compared:
                if _plain(before_row[name]) != _plain(after_row[name]):
                    diff[f"{part}.{remote_id}.{name}"] = [_plain(before_row[name]), _plain(after_row[name])]
    return diff


def _current_parts(project_ids: list[int]) -> dict[int, dict[str, list[dict]]]:
    """The compared fields of every part of these projects: one query per part."""
    parts: dict[int, dict[str, list[dict]]] = {pk: {part: [] for part in PARTS} for pk in project_ids}
    for part, (model, compared) in PARTS.items():
        for row in model.objects.filter(project_id__in=project_ids).values("project_id", "remote_id", *compared):
            parts[row.pop("project_id")][part].append(row)
    return parts


@dataclass
class StoreOutcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # remote_id → (old status, new status) for projects whose status changed.
    status_changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    # remote_id → why its document could not be read.
    unreadable: dict[str, str] = field(default_factory=dict)


def store_documents(
    *, source: str, documents: Iterable[dict], run: ProjectSyncRun | None = None, now: datetime | None = None
) -> StoreOutcome:
    """Touch the unchanged documents' projects in bulk and write the changed ones (with their parts,
    diffs and notifications) in one transaction; an unreadable document changes nothing and is
    reported in `unreadable`. Callers pass a few hundred documents at a time."""
    now = now or timezone.now()
    outcome = StoreOutcome()
    documents = list(documents)
    ids = [str(document.get("id")) for document in documents]
    known = dict(
        Project.objects.filter(source=source, remote_id__in=ids, deleted_at__isnull=True).values_list(
            "remote_id", "content_hash"
        )
    )
    changed: dict[str, ParsedProject] = {}
    for document in documents:
        remote_id = str(document["id"])
        if known.get(remote_id) == content_hash(document):
            outcome.unchanged.append(remote_id)
            continue
        try:
            changed[remote_id] = parse_document(document)
        except BadProjectDocument as exc:
            outcome.unreadable[remote_id] = str(exc)
    for start in range(0, len(outcome.unchanged), UNCHANGED_UPDATE_CHUNK):
        Project.objects.filter(
            source=source, remote_id__in=outcome.unchanged[start : start + UNCHANGED_UPDATE_CHUNK]
        ).update(fetched_at=now, sync_error_code="", sync_error="")
    if changed:
        try:
            changes = _write_projects(source=source, parsed=changed, run=run, now=now)
        except IntegrityError:
            # A read created one of these projects between our look and our insert: look again.
            changes = _write_projects(source=source, parsed=changed, run=run, now=now)
        for remote_id in changed:
            change = changes.get(remote_id)
            if change is None:
                outcome.unchanged.append(remote_id)
            elif change.kind == ProjectChange.Kind.CREATED:
                outcome.created.append(remote_id)
            else:
                outcome.updated.append(remote_id)
                if "status" in change.diff:
                    outcome.status_changes[remote_id] = tuple(change.diff["status"])
    return outcome


@transaction.atomic
def _write_projects(
    *, source: str, parsed: dict[str, ParsedProject], run: ProjectSyncRun | None, now: datetime
) -> dict[str, ProjectChange]:
    """Write changed projects: rows updated or created, parts replaced, one change each with its
    diff, status changes announced. Answers the changes by remote id (none for a project another
    writer already stored with this content)."""
    existing = {
        project.remote_id: project
        for project in Project.objects.select_for_update().filter(source=source, remote_id__in=list(parsed))
    }
    old_parts = _current_parts([project.pk for project in existing.values()])
    to_update, to_create, changes = [], [], {}
    for remote_id, new in parsed.items():
        project = existing.get(remote_id)
        if project is not None and project.content_hash == new.content_hash and project.deleted_at is None:
            Project.objects.filter(pk=project.pk).update(fetched_at=now, sync_error_code="", sync_error="")
            continue
        diff = project_diff(project, new, old_parts.get(project.pk) if project else None)
        values = {
            **new.fields,
            "content_hash": new.content_hash,
            "fetched_at": now,
            "changed_at": now,
            "deleted_at": None,
            "sync_error_code": "",
            "sync_error": "",
        }
        if project is None:
            project = Project(source=source, remote_id=remote_id, **values)
            to_create.append(project)
            kind = ProjectChange.Kind.CREATED
        else:
            for name, value in values.items():
                setattr(project, name, value)
            to_update.append(project)
            kind = ProjectChange.Kind.UPDATED
        changes[remote_id] = ProjectChange(
            run=run, project=project, source=source, remote_id=remote_id, kind=kind, diff=diff, changed_at=now
        )
    if not changes:
        return {}
    Project.objects.bulk_create(to_create, batch_size=BULK_BATCH)
    if to_update:
        Project.objects.bulk_update(to_update, fields=UPDATED_FIELDS, batch_size=BULK_BATCH)
        updated_ids = [project.pk for project in to_update]
        for model, _compared in PARTS.values():
            model.objects.filter(project_id__in=updated_ids).delete()
        Timesheet.objects.filter(project_id__in=updated_ids).delete()
    written = {change.remote_id: change.project for change in changes.values()}
    for part, (model, _compared) in PARTS.items():
        model.objects.bulk_create(
            [model(project=written[rid], **row) for rid in written for row in parsed[rid].parts[part]],
            batch_size=BULK_BATCH,
        )
    Timesheet.objects.bulk_create(
        [Timesheet(project=written[rid], **row) for rid in written for row in parsed[rid].timesheets],
        batch_size=BULK_BATCH,
    )
    for change in changes.values():
        change.project_id = change.project.pk  # set after the bulk insert gave the new rows their ids
    ProjectChange.objects.bulk_create(list(changes.values()), batch_size=BULK_BATCH)
    for change in changes.values():
        if change.kind == ProjectChange.Kind.UPDATED and "status" in change.diff:
            notifications.announce_status_change(project=change.project, change=change)
    return changes


def record_fetch_failure(*, source: str, remote_id: str, code: str, message: str) -> None:
    """Keep the failure on the cached row (if any) so the next run retries it and staff see it."""
    Project.objects.filter(source=source, remote_id=remote_id).update(
        sync_error_code=code[:50], sync_error=message[:2000]
    )


def mark_deleted(
    *, source: str, remote_ids: Iterable[str], run: ProjectSyncRun | None = None, now: datetime | None = None
) -> list[str]:
    """Projects the remote no longer has: kept (customers still see the last copy) but flagged."""
    now = now or timezone.now()
    marked = []
    for project in Project.objects.filter(source=source, remote_id__in=list(remote_ids), deleted_at__isnull=True):
        with transaction.atomic():
            if Project.objects.filter(pk=project.pk, deleted_at__isnull=True).update(deleted_at=now):
                ProjectChange.objects.create(
                    run=run,
                    project=project,
                    source=source,
                    remote_id=project.remote_id,
                    kind=ProjectChange.Kind.DELETED,
                    diff={"deleted_at": [None, now.isoformat()]},
                    changed_at=now,
                )
                marked.append(project.remote_id)
    return marked
