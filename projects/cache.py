"""Writing remote project documents into the cache: parse, hash, compare, write only what changed.

`store_documents` is the one writer, used by the sync job and by on-demand reads alike: a document
whose content hash equals the cached one only moves `fetched_at`; a changed one replaces the
project's row and its parts in one transaction and leaves a `ProjectChange` with the field-level
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

from django.db import transaction
from django.utils import timezone

from projects import notifications
from projects.models import (
    Milestone,
    PaymentPlan,
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
)
PARTS = {
    "milestones": (Milestone, ("name", "planned_date", "actual_date", "status", "payment_share")),
    "tasks": (Task, ("name", "assignee", "due_date", "progress", "status")),
    "issues": (ProjectIssue, ("title", "severity", "blocking", "opened_at", "responded_at", "resolved_at", "due_at")),
    "payment_plans": (PaymentPlan, ("name", "amount", "due_date", "received_amount", "received_date")),
}
UNCHANGED_UPDATE_CHUNK = 500
UNCHANGED = "unchanged"  # what _write_project answers when another writer stored the same content


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
            "payment_plans": [
                {
                    "remote_id": str(item["id"]),
                    "name": item["name"],
                    "amount": _money(item.get("amount")),
                    "due_date": _date(item.get("due_date")),
                    "received_amount": _money(item.get("received_amount")),
                    "received_date": _date(item.get("received_date")),
                }
                for item in document.get("payment_plans") or []
            ],
        }
        timesheets = [
            {"person": item["person"], "work_date": _date(item["date"]), "hours": Decimal(str(item["hours"]))}
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


def _current_parts(project: Project) -> dict[str, list[dict]]:
    return {
        part: list(model.objects.filter(project=project).values("remote_id", *compared))
        for part, (model, compared) in PARTS.items()
    }


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
    """Write the changed documents (one transaction each) and touch the unchanged ones in bulk;
    an unreadable document is reported in `unreadable` and changes nothing."""
    now = now or timezone.now()
    outcome = StoreOutcome()
    documents = list(documents)
    ids = [str(document.get("id")) for document in documents]
    known = {
        remote_id: (pk, digest, deleted_at)
        for remote_id, pk, digest, deleted_at in Project.objects.filter(source=source, remote_id__in=ids).values_list(
            "remote_id", "pk", "content_hash", "deleted_at"
        )
    }
    touched: list[int] = []
    for document in documents:
        remote_id = str(document["id"])
        digest = content_hash(document)
        existing = known.get(remote_id)
        if existing and existing[1] == digest and existing[2] is None:
            touched.append(existing[0])
            outcome.unchanged.append(remote_id)
            continue
        try:
            parsed = parse_document(document)
        except BadProjectDocument as exc:
            outcome.unreadable[remote_id] = str(exc)
            continue
        change = _write_project(source=source, remote_id=remote_id, parsed=parsed, run=run, now=now)
        if change.kind == UNCHANGED:
            outcome.unchanged.append(remote_id)
            continue
        (outcome.created if change.kind == ProjectChange.Kind.CREATED else outcome.updated).append(remote_id)
        if "status" in change.diff and change.kind == ProjectChange.Kind.UPDATED:
            outcome.status_changes[remote_id] = tuple(change.diff["status"])
    for start in range(0, len(touched), UNCHANGED_UPDATE_CHUNK):
        Project.objects.filter(pk__in=touched[start : start + UNCHANGED_UPDATE_CHUNK]).update(
            fetched_at=now, sync_error_code="", sync_error=""
        )
    return outcome


@transaction.atomic
def _write_project(
    *, source: str, remote_id: str, parsed: ParsedProject, run: ProjectSyncRun | None, now: datetime
) -> ProjectChange:
    project = Project.objects.select_for_update().filter(source=source, remote_id=remote_id).first()
    if project is not None and project.content_hash == parsed.content_hash and project.deleted_at is None:
        # Another writer stored this very content meanwhile (a read beside the sync).
        Project.objects.filter(pk=project.pk).update(fetched_at=now, sync_error_code="", sync_error="")
        return ProjectChange(kind=UNCHANGED, diff={})
    old_parts = _current_parts(project) if project else None
    diff = project_diff(project, parsed, old_parts)
    kind = ProjectChange.Kind.CREATED if project is None else ProjectChange.Kind.UPDATED
    values = {
        **parsed.fields,
        "content_hash": parsed.content_hash,
        "fetched_at": now,
        "changed_at": now,
        "deleted_at": None,
        "sync_error_code": "",
        "sync_error": "",
    }
    if project is None:
        project = Project.objects.create(source=source, remote_id=remote_id, **values)
    else:
        for name, value in values.items():
            setattr(project, name, value)
        project.save()
        for model, _compared in PARTS.values():
            model.objects.filter(project=project).delete()
        Timesheet.objects.filter(project=project).delete()
    for part, (model, _compared) in PARTS.items():
        model.objects.bulk_create([model(project=project, **row) for row in parsed.parts[part]])
    Timesheet.objects.bulk_create([Timesheet(project=project, **row) for row in parsed.timesheets])
    change = ProjectChange.objects.create(
        run=run, project=project, source=source, remote_id=remote_id, kind=kind, diff=diff, changed_at=now
    )
    if kind == ProjectChange.Kind.UPDATED and "status" in diff:
        notifications.announce_status_change(project=project, change=change)
    return change


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
