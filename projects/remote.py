"""The remote project system's client: one pooled httpx client per process, typed errors.

Callers use `get_remote()` and its operations, `list_projects` (a page of summaries, optionally
only those updated since a time), `project_detail` (one project's full document) and `duty_roles`
(the roles, their people and their duty templates). Whether to
retry is decided once, here: every failure is a `RemoteUnavailable` (try later: timeouts,
connection errors, 5xx, 429, an answer that is not JSON), a `ProjectNotFound` (404 for a project:
it was deleted or never existed) or a `RemoteRejected` (credentials refused, bad request). `code`
is short and stable, fit for an `error_code` column; `message` never carries the API key.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import httpx
from django.conf import settings

from config.logging import request_id_var, task_id_var

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-Api-Key"


class RemoteError(Exception):
    retryable = False

    def __init__(self, code: str, message: str, *, http_status: int | None = None):
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class RemoteUnavailable(RemoteError):
    """The remote did not answer usefully this time; the same call may work later."""

    retryable = True


class RemoteRejected(RemoteError):
    """The remote refused the call (credentials, parameters); repeating it will not help."""


class ProjectNotFound(RemoteError):
    """The remote has no such project (deleted, or a wrong id)."""


class UnknownSource(RemoteRejected):
    """No remote source with this name is configured."""


@dataclass(frozen=True)
class ProjectSummary:
    remote_id: str
    project_type: str
    updated_at: datetime


@dataclass(frozen=True)
class ProjectPage:
    page: int
    page_count: int
    total: int
    items: list[ProjectSummary]


class ProjectRemoteClient:
    def __init__(self) -> None:
        self._http: httpx.Client | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def list_projects(
        self, *, source: str, page: int = 1, page_size: int | None = None, updated_since: datetime | None = None
    ) -> ProjectPage:
        """One page of project summaries, oldest id first; only those changed since `updated_since`."""
        params: dict[str, str | int] = {"page": page, "page_size": page_size or settings.PROJECTS_LIST_PAGE_SIZE}
        if updated_since is not None:
            params["updated_since"] = updated_since.isoformat()
        payload = self._get(source, "/projects", params=params, timeout_s=settings.PROJECTS_REMOTE_TIMEOUT_S)
        try:
            return ProjectPage(
                page=int(payload["page"]),
                page_count=int(payload["page_count"]),
                total=int(payload["total"]),
                items=[
                    ProjectSummary(
                        remote_id=str(item["id"]),
                        project_type=str(item.get("type") or ""),
                        updated_at=datetime.fromisoformat(item["updated_at"]),
                    )
                    for item in payload["items"]
                ],
            )
        except (KeyError, TypeError, ValueError):
            raise RemoteUnavailable("bad_response", "the project list answer is not a page") from None

    def project_detail(self, *, source: str, remote_id: str, timeout_s: float | None = None) -> dict:
        """The full document of one project (its milestones, tasks, issues, payments, timesheets)."""
        payload = self._get(
            source,
            f"/projects/{quote(remote_id, safe='')}",
            timeout_s=timeout_s or settings.PROJECTS_REMOTE_TIMEOUT_S,
            not_found_is_project=True,
        )
        if str(payload.get("id")) != remote_id:
            raise RemoteUnavailable("bad_response", f"the detail answer for {remote_id} is another project")
        return payload

    def duty_roles(self, *, source: str) -> list[dict]:
        """The roles (岗位) with their members and duty templates:
        [{"id", "name", "members": [{"id", "name", "phone", "username"}], "templates": [{"id",
        "title", "frequency", "weekday", "day_of_month"}]}]."""
        payload = self._get(source, "/duty-roles", timeout_s=settings.PROJECTS_REMOTE_TIMEOUT_S)
        roles = payload.get("roles")
        if not isinstance(roles, list) or not all(
            isinstance(role, dict)
            and isinstance(role.get("members"), list)
            and isinstance(role.get("templates"), list)
            and role.get("id")
            for role in roles
        ):
            raise RemoteUnavailable("bad_response", "the duty-role answer is not a list of roles")
        return roles

    # --- HTTP ---------------------------------------------------------------------------------

    def _get(
        self, source: str, path: str, *, params=None, timeout_s: float, not_found_is_project: bool = False
    ) -> dict:
        try:
            config = settings.PROJECTS_SOURCES[source]
        except KeyError:
            raise UnknownSource("unknown_source", f"no project source named {source!r}") from None
        url = config["url"].rstrip("/") + path
        headers = {
            API_KEY_HEADER: config.get("api_key", ""),
            "X-Request-ID": request_id_var.get() or task_id_var.get() or "",
        }
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        started = time.monotonic()
        status: int | str = "error"
        try:
            response = self._client().get(url, params=params, headers=headers, timeout=timeout)
            status = response.status_code
        except httpx.TimeoutException:
            status = "timeout"
            raise RemoteUnavailable("timeout", f"the project system did not answer {path} in time") from None
        except httpx.TransportError as exc:
            raise RemoteUnavailable(
                "connection_error", f"connection to the project system failed ({type(exc).__name__})"
            ) from None
        finally:
            logger.info(
                "project remote call",
                extra={
                    "source": source,
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
        return self._checked(response, path, not_found_is_project=not_found_is_project)

    @staticmethod
    def _checked(response: httpx.Response, path: str, *, not_found_is_project: bool) -> dict:
        status = response.status_code
        if status == 404 and not_found_is_project:
            raise ProjectNotFound("not_found", f"the project system has no {path}", http_status=404)
        if status == 429 or status >= 500:
            raise RemoteUnavailable(f"http_{status}", f"the project system answered HTTP {status}", http_status=status)
        if status >= 400:
            raise RemoteRejected(
                f"http_{status}", f"the project system refused {path} (HTTP {status})", http_status=status
            )
        try:
            payload = response.json()
        except ValueError:
            raise RemoteUnavailable("bad_response", "the project system answered with something not JSON") from None
        if not isinstance(payload, dict):
            raise RemoteUnavailable("bad_response", "the project system answered with JSON that is not an object")
        return payload

    def _client(self) -> httpx.Client:
        # A forked worker must not share the parent's sockets: one pool per process.
        if self._http is None or self._pid != os.getpid():
            with self._lock:
                if self._http is None or self._pid != os.getpid():
                    self._http = httpx.Client(limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))
                    self._pid = os.getpid()
        return self._http


_shared_lock = threading.Lock()
_shared: ProjectRemoteClient | None = None


def get_remote() -> ProjectRemoteClient:
    """The process's client (connections pooled; settings read at each call)."""
    global _shared  # noqa: PLW0603 (one pooled client per process is the point)
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = ProjectRemoteClient()
    return _shared
