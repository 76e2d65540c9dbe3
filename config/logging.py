"""JSON log lines carrying the request id or django-q2 task id of the work that wrote them."""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)

# An incoming X-Request-ID is echoed only if it looks like an id, so logs cannot be forged.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.task_id = task_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key.startswith("_") or value is None:
                continue
            if key in {"request", "server_time"}:
                continue  # Django attaches the request object itself; the id says enough.
            entry[key] = value if isinstance(value, (str, int, float, bool, list, dict)) else str(value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdMiddleware:
    """Gives every request an id (from X-Request-ID or new), logs it, and returns it."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.logger = logging.getLogger("yunqiao.request")

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            self.logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def _task_started(sender, func=None, task=None, **kwargs):
    task_id_var.set((task or {}).get("id"))


def _task_finished(sender, task=None, **kwargs):
    task_id_var.set(None)


def connect_task_context() -> None:
    """Tag log lines written inside a django-q2 task with that task's id."""
    from django_q.signals import post_execute, pre_execute

    pre_execute.connect(_task_started, dispatch_uid="yunqiao-task-context-start")
    post_execute.connect(_task_finished, dispatch_uid="yunqiao-task-context-end")
