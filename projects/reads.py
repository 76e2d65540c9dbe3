"""Reading one project: cache first, the remote on a miss or a forced refresh, the cached copy
(marked stale) when the remote is down or slow, and one remote call for many concurrent refreshes.

Single flight works across processes through Django's cache (`cache.add` is atomic on Redis and on
the database cache): the first caller of a project takes the flight key and fetches; the others
wait for the row's `fetched_at` to move past the moment they asked, and never call the remote.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from projects import selectors, sync
from projects.models import Project
from projects.remote import ProjectNotFound, RemoteError, RemoteUnavailable

logger = logging.getLogger(__name__)

FLIGHT_POLL_S = 0.05
# The flight key outlives a fetch that hangs until the read timeout, then frees itself.
FLIGHT_KEY_GRACE_S = 5


@dataclass(frozen=True)
class ProjectRead:
    project: Project
    stale: bool = False
    stale_reason: str = ""


class ProjectUnavailable(Exception):
    """Nothing cached and the remote could not be read: the caller answers 503."""

    def __init__(self, error: RemoteError):
        super().__init__(error.message)
        self.error = error


class ProjectMissing(Exception):
    """The remote has no such project and nothing is cached: the caller answers 404."""


def read_project(*, source: str, remote_id: str, force_sync: bool = False) -> ProjectRead:
    """The project for a page or an API answer; never raises while a cached copy exists."""
    cached = selectors.cached_project(source=source, remote_id=remote_id)
    if cached is not None and not force_sync:
        return ProjectRead(cached)
    try:
        refresh_project(source=source, remote_id=remote_id)
    except ProjectNotFound:
        if cached is None:
            raise ProjectMissing(remote_id) from None
        return ProjectRead(selectors.cached_project(source=source, remote_id=remote_id), True, "deleted")
    except RemoteError as exc:
        if cached is None:
            raise ProjectUnavailable(exc) from None
        logger.warning("project served stale", extra={"remote_id": remote_id, "code": exc.code})
        return ProjectRead(cached, stale=True, stale_reason=exc.code)
    return ProjectRead(selectors.cached_project(source=source, remote_id=remote_id))


def refresh_project(*, source: str, remote_id: str) -> None:
    """Fetch and store the project now, or wait for the fetch another caller has in flight."""
    asked_at = timezone.now()
    key = f"projects:flight:{source}:{remote_id}"
    token = uuid.uuid4().hex
    timeout_s = settings.PROJECTS_READ_TIMEOUT_S
    if cache.add(key, token, timeout=int(timeout_s + FLIGHT_KEY_GRACE_S)):
        try:
            sync.fetch_one(source=source, remote_id=remote_id, timeout_s=timeout_s)
        finally:
            if cache.get(key) == token:
                cache.delete(key)
        return
    _wait_for_flight(key=key, source=source, remote_id=remote_id, asked_at=asked_at, timeout_s=timeout_s)


def _wait_for_flight(*, key: str, source: str, remote_id: str, asked_at: datetime, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s + FLIGHT_KEY_GRACE_S
    while time.monotonic() < deadline:
        fetched_at = (
            Project.objects.filter(source=source, remote_id=remote_id).values_list("fetched_at", flat=True).first()
        )
        if fetched_at is not None and fetched_at >= asked_at:
            return
        if cache.get(key) is None:
            break  # the flight landed without a fresh copy: it failed, and so would we
        time.sleep(FLIGHT_POLL_S)
    row = Project.objects.filter(source=source, remote_id=remote_id).values("sync_error_code", "deleted_at").first()
    if row and row["deleted_at"] is not None:
        raise ProjectNotFound("not_found", f"the project system has no {remote_id}")
    code = (row or {}).get("sync_error_code") or "timeout"
    raise RemoteUnavailable(code, "another request's refresh of this project did not succeed")
