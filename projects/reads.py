"""Reading one project: cache first, the remote on a miss or a forced refresh, the cached copy
(marked stale) when the remote is down or slow, and one remote call for many concurrent refreshes.

Single flight works across processes through Django's cache (`cache.add` is atomic on Redis and on
the database cache): the first caller of a project takes the flight key and fetches; the others
wait for the row's `fetched_at` to move past the moment they asked, and never call the remote.
"""

from __future__ import annotations

import logging
import time
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
# How long a landed flight's outcome answers later callers (a refresh within the last second).
OUTCOME_KEPT_S = 1
FLYING, LANDED, MISSING, FAILED = "flying", "landed", "missing", "failed:"


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


def read_project(
    *,
    source: str,
    remote_id: str,
    force_sync: bool = False,
    parts=selectors.STAFF_PARTS,
    loaded: Project | None = None,
) -> ProjectRead:
    """The project for a page or an API answer, with `parts`; never raises while a cached copy
    exists. `loaded` is the row when the caller already has it (a customer link's project)."""
    if loaded is not None:
        cached = selectors.with_parts(loaded, parts)
    else:
        cached = selectors.cached_project(source=source, remote_id=remote_id, parts=parts)
    if cached is not None and not force_sync:
        return ProjectRead(cached)
    try:
        refresh_project(source=source, remote_id=remote_id)
    except ProjectNotFound:
        if cached is None:
            raise ProjectMissing(remote_id) from None
        return ProjectRead(selectors.cached_project(source=source, remote_id=remote_id, parts=parts), True, "deleted")
    except RemoteError as exc:
        if cached is None:
            raise ProjectUnavailable(exc) from None
        logger.warning("project served stale", extra={"remote_id": remote_id, "code": exc.code})
        return ProjectRead(cached, stale=True, stale_reason=exc.code)
    return ProjectRead(selectors.cached_project(source=source, remote_id=remote_id, parts=parts))


def refresh_project(*, source: str, remote_id: str) -> None:
    """Fetch and store the project now, or wait for the fetch another caller has in flight.

    The flight key holds "flying" while the leader fetches, then its outcome for a moment, so that
    a caller who asked while the flight was landing shares its result instead of calling again."""
    asked_at = timezone.now()
    key = f"projects:flight:{source}:{remote_id}"
    timeout_s = settings.PROJECTS_READ_TIMEOUT_S
    if cache.add(key, FLYING, timeout=_flight_key_timeout(timeout_s)) or _wait_for_flight(
        key=key, source=source, remote_id=remote_id, asked_at=asked_at, timeout_s=timeout_s
    ):
        _fly(key=key, source=source, remote_id=remote_id, timeout_s=timeout_s)


def _flight_key_timeout(timeout_s: float) -> int:
    return int(timeout_s + FLIGHT_KEY_GRACE_S)


def _fly(*, key: str, source: str, remote_id: str, timeout_s: float) -> None:
    """The leader's fetch; its outcome stays on the key for the callers waiting on it."""
    outcome = FAILED + "connection_error"
    try:
        sync.fetch_one(source=source, remote_id=remote_id, timeout_s=timeout_s)
        outcome = LANDED
    except ProjectNotFound:
        outcome = MISSING
        raise
    except RemoteError as exc:
        outcome = FAILED + exc.code
        raise
    finally:
        cache.set(key, outcome, timeout=OUTCOME_KEPT_S)


def _wait_for_flight(*, key: str, source: str, remote_id: str, asked_at: datetime, timeout_s: float) -> bool:
    """Wait for the flight in the air; True when there turns out to be none and this caller has
    taken the key to fly itself."""
    deadline = time.monotonic() + timeout_s + FLIGHT_KEY_GRACE_S
    outcome = None
    while time.monotonic() < deadline:
        outcome = cache.get(key)
        if outcome is None:
            if _fetched_since(source=source, remote_id=remote_id, asked_at=asked_at):
                return False  # the outcome expired, but the copy is fresher than the question
            # The key refused us yet reads as nothing: on the database cache that is the second
            # after an outcome expired (add() compares whole seconds, get() the exact time).
            # No one is fetching, so take the key rather than answer a refresh never tried.
            if cache.add(key, FLYING, timeout=_flight_key_timeout(timeout_s)):
                return True
        elif outcome != FLYING:
            break
        time.sleep(FLIGHT_POLL_S)
    if outcome == LANDED:
        return False
    if outcome == MISSING:
        raise ProjectNotFound("not_found", f"the project system has no {remote_id}")
    code = outcome[len(FAILED) :] if outcome and outcome.startswith(FAILED) else "timeout"
    raise RemoteUnavailable(code, "another request's refresh of this project did not succeed")


def _fetched_since(*, source: str, remote_id: str, asked_at: datetime) -> bool:
    fetched_at = Project.objects.filter(source=source, remote_id=remote_id).values_list("fetched_at", flat=True).first()
    return fetched_at is not None and fetched_at >= asked_at
