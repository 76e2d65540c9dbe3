"""The project sync: list what changed at the remote, fetch those projects, write what differs.

A run is incremental (the remote's `updated_since` from the last cursor, minus an overlap for
clock skew) except the first run after PROJECTS_FULL_SYNC_HOUR each day, which lists every project
to find the deleted ones and compares every content hash. A project that fails is recorded and
the run goes on; it is tried once more at the end of the run and again by every later run until it
succeeds. Every run leaves a `ProjectSyncRun` row; every change a `ProjectChange` with its diff.
Never runs twice at once: it runs as the `sync_projects` job under the scheduler's overlap rule.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts import services as alert_services
from projects import cache
from projects.models import Project, ProjectSyncConfig, ProjectSyncRun, SyncCursor, SyncRunStatus, Timesheet
from projects.remote import ProjectNotFound, RemoteError, get_remote

logger = logging.getLogger(__name__)

STORE_CHUNK = 200
MAX_FAILURES_KEPT = 200


class ProjectSyncFailed(RuntimeError):
    """The run could not list any source (raised by the job so the scheduler records a failure)."""


@dataclass
class SourceResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failures: list[dict] = field(default_factory=list)
    status_changes: dict[str, tuple[str, str]] = field(default_factory=dict)


def full_pass_due(last_full_at: datetime | None, now: datetime) -> bool:
    """Whether the daily full pass is due: none since today's PROJECTS_FULL_SYNC_HOUR (local)."""
    local = timezone.localtime(now)
    boundary = local.replace(hour=settings.PROJECTS_FULL_SYNC_HOUR, minute=0, second=0, microsecond=0)
    if boundary > local:
        boundary -= timedelta(days=1)
    return last_full_at is None or last_full_at < boundary


def configured_sources(config: ProjectSyncConfig) -> list[str]:
    sources = list(settings.PROJECTS_SOURCES)
    return [name for name in sources if name in config.sources] if config.sources else sources


def sync_projects(*, mode: str | None = None, now: datetime | None = None) -> ProjectSyncRun:
    """One run over every configured source; `mode` forces "full" or "incremental"."""
    now = now or timezone.now()
    config = ProjectSyncConfig.load()
    sources = configured_sources(config)
    cursors = {source: SyncCursor.objects.get_or_create(source=source)[0] for source in sources}
    if mode is None:
        due = any(full_pass_due(cursor.last_full_at, now) for cursor in cursors.values())
        mode = ProjectSyncRun.Mode.FULL if due else ProjectSyncRun.Mode.INCREMENTAL
    run = ProjectSyncRun.objects.create(mode=mode, started_at=now)
    started = time.monotonic()
    totals = SourceResult()
    errors = []
    for source in sources:
        try:
            result = _sync_source(source=source, cursor=cursors[source], config=config, run=run, now=now)
        except RemoteError as exc:
            errors.append((source, exc))
            logger.warning("project source failed", extra={"source": source, "code": exc.code})
            continue
        for name in ("total", "created", "updated", "unchanged", "deleted"):
            setattr(totals, name, getattr(totals, name) + getattr(result, name))
        totals.failures += result.failures
        totals.status_changes.update({(source, key): value for key, value in result.status_changes.items()})

    if errors and len(errors) == len(sources):
        status = SyncRunStatus.FAILED
    elif errors or totals.failures:
        status = SyncRunStatus.PARTIAL
    else:
        status = SyncRunStatus.SUCCESS
    ProjectSyncRun.objects.filter(pk=run.pk).update(
        status=status,
        finished_at=timezone.now(),
        duration_s=time.monotonic() - started,
        projects_total=totals.total,
        created=totals.created,
        updated=totals.updated,
        unchanged=totals.unchanged,
        deleted=totals.deleted,
        failed=len(totals.failures),
        failures=totals.failures[:MAX_FAILURES_KEPT],
        error_code=errors[0][1].code if errors else "",
        error="; ".join(
            _("数据源 %(source)s 无法读取：%(error)s") % {"source": source, "error": exc.message}
            for source, exc in errors
        ),
    )
    run.refresh_from_db()
    if run.created or run.updated or run.deleted:
        # The jobs reading the cache follow its changes now, not at their next scheduled time; so do
        # those reading the remote project system directly (the duty tasks, from its roles and
        # templates): "projects:remote" is the name they declare it by. The sync itself reads it
        # too but writes the cache, so it is not queued (`alerts.dependents.jobs_reading`).
        alert_services.run_jobs_reading(
            [
                "projects:remote",
                *(model._meta.db_table for model in (Project, Timesheet, *(part[0] for part in cache.PARTS.values()))),
            ],
            reason=f"project sync run #{run.pk}",
            now=now,
        )
    logger.info(
        "project sync finished",
        extra={"run_id": run.pk, "mode": run.mode, "status": run.status, "updated": run.updated, "failed": run.failed},
    )
    return run


def _list_changed(source: str, since: datetime | None) -> list:
    remote = get_remote()
    first = remote.list_projects(source=source, page=1, updated_since=since)
    summaries = list(first.items)
    for page in range(2, first.page_count + 1):
        summaries += remote.list_projects(source=source, page=page, updated_since=since).items
    return summaries


def _fetch(source: str, remote_ids: list[str]) -> tuple[list[dict], dict[str, RemoteError]]:
    """Fetch details concurrently (network only: the database is written by the caller)."""
    remote = get_remote()

    def one(remote_id: str):
        try:
            return remote_id, remote.project_detail(source=source, remote_id=remote_id), None
        except RemoteError as exc:
            return remote_id, None, exc

    documents, failures = [], {}
    with ThreadPoolExecutor(max_workers=max(1, settings.PROJECTS_FETCH_CONCURRENCY)) as pool:
        for remote_id, document, error in pool.map(one, remote_ids):
            if error is None:
                documents.append(document)
            else:
                failures[remote_id] = error
    return documents, failures


def _sync_source(
    *, source: str, cursor: SyncCursor, config: ProjectSyncConfig, run: ProjectSyncRun, now: datetime
) -> SourceResult:
    full = run.mode == ProjectSyncRun.Mode.FULL
    since = None
    if not full and cursor.updated_since is not None:
        since = cursor.updated_since - timedelta(seconds=settings.PROJECTS_SYNC_OVERLAP_S)
    summaries = _list_changed(source, since)
    types = set(config.project_types or [])
    wanted = [summary.remote_id for summary in summaries if summary.project_type in types]
    # Projects that failed in earlier runs are tried again even if the remote lists no change.
    earlier_failures = Project.objects.filter(source=source, deleted_at__isnull=True).exclude(sync_error_code="")
    wanted += sorted(set(earlier_failures.values_list("remote_id", flat=True)) - set(wanted))

    documents, failures = _fetch(source, wanted)
    if failures:  # once more, after the others, for what failed on a passing fault
        retried, failures = _fetch(source, sorted(failures))
        documents += retried

    result = SourceResult(total=len(wanted))
    for start in range(0, len(documents), STORE_CHUNK):
        outcome = cache.store_documents(
            source=source, documents=documents[start : start + STORE_CHUNK], run=run, now=now
        )
        result.created += len(outcome.created)
        result.updated += len(outcome.updated)
        result.unchanged += len(outcome.unchanged)
        result.status_changes.update(outcome.status_changes)
        for remote_id, message in outcome.unreadable.items():
            result.failures.append(
                {"source": source, "remote_id": remote_id, "code": "bad_document", "message": message}
            )
            cache.record_fetch_failure(source=source, remote_id=remote_id, code="bad_document", message=message)

    gone = [remote_id for remote_id, error in failures.items() if isinstance(error, ProjectNotFound)]
    for remote_id, error in failures.items():
        if not isinstance(error, ProjectNotFound):
            result.failures.append(
                {"source": source, "remote_id": remote_id, "code": error.code, "message": error.message}
            )
            cache.record_fetch_failure(source=source, remote_id=remote_id, code=error.code, message=error.message)
    if full:
        listed = {summary.remote_id for summary in summaries}
        cached = Project.objects.filter(source=source, deleted_at__isnull=True).values_list("remote_id", flat=True)
        gone += [remote_id for remote_id in cached if remote_id not in listed]
    result.deleted = len(cache.mark_deleted(source=source, remote_ids=gone, run=run, now=now))

    newest = max((summary.updated_at for summary in summaries), default=None)
    fields = {}
    if newest is not None and (cursor.updated_since is None or newest > cursor.updated_since):
        fields["updated_since"] = newest
    if full:
        fields["last_full_at"] = now
    if fields:
        SyncCursor.objects.filter(pk=cursor.pk).update(**fields)
    return result


def fetch_one(*, source: str, remote_id: str, timeout_s: float | None = None) -> Project:
    """Fetch one project now and store it (the on-demand read); raises the remote's typed errors."""
    try:
        document = get_remote().project_detail(source=source, remote_id=remote_id, timeout_s=timeout_s)
    except ProjectNotFound:
        cache.mark_deleted(source=source, remote_ids=[remote_id])
        raise
    except RemoteError as exc:
        cache.record_fetch_failure(source=source, remote_id=remote_id, code=exc.code, message=exc.message)
        raise
    outcome = cache.store_documents(source=source, documents=[document])
    if outcome.unreadable:
        message = outcome.unreadable[remote_id]
        cache.record_fetch_failure(source=source, remote_id=remote_id, code="bad_document", message=message)
        raise RemoteError("bad_document", message)
    return Project.objects.get(source=source, remote_id=remote_id)
