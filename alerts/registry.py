"""The job registry: every scheduled job is declared once, next to its code, with `@job(...)`.

Apps declare their jobs in `<app>/jobs.py`; those modules are imported by `autodiscover()` (called
from `AlertsConfig.ready`), so the registry is complete in every process (web, worker, commands).
The registry is code; what staff change at runtime (cron, enabled) lives in django-q2 `Schedule`
rows, which `alerts.services.sync_schedules` keeps in step with this registry.

    from alerts.registry import job

    @job(id="recover_stalled_uploads", name="上传恢复巡检", cron="*/2 * * * *", category="检查",
         risk="low", sla_s=60, reads=["upload_history"], writes=["upload_history"],
         description="把任务丢失的待上传/上传超时记录重新入队")
    def recover_stalled_uploads() -> dict:
        return {"requeued": services.requeue_stalled_uploads()}

The function takes no arguments and returns a small JSON-able summary dict. `cron` may also be a
callable returning the expression (e.g. `lambda: settings.SYNC_NIGHTLY_CRON`), so that a default
that comes from settings is read when schedules are synced, not at import time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

CATEGORIES = ("预警", "检查", "汇总", "推送", "其他")
RISKS = ("low", "medium", "high")

JobFunction = Callable[[], dict]


class UnknownJob(LookupError):
    """No job with this id is registered."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id


@dataclass(frozen=True)
class JobSpec:
    """One registered job: its metadata and the function that does the work."""

    id: str
    name: str
    cron_default: str | Callable[[], str]
    category: str
    risk: str
    sla_s: float
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    description: str
    func: JobFunction

    @property
    def cron(self) -> str:
        """The default cron expression (resolved now, when it comes from settings)."""
        value = self.cron_default() if callable(self.cron_default) else self.cron_default
        return " ".join(str(value).split())

    @property
    def dotted_path(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "default_cron": self.cron,
            "category": self.category,
            "risk": self.risk,
            "sla_s": self.sla_s,
            "reads": list(self.reads),
            "writes": list(self.writes),
            "description": self.description,
            "function": self.dotted_path,
        }


_jobs: dict[str, JobSpec] = {}
_lock = threading.Lock()


def validate_cron(expression: str) -> str:
    """Return the normalised expression, or raise ValueError with a readable reason."""
    from croniter import croniter

    normalised = " ".join(str(expression).split())
    if len(normalised.split(" ")) != 5:
        raise ValueError("cron must have exactly five fields: minute hour day-of-month month day-of-week")
    if not croniter.is_valid(normalised):
        raise ValueError(f"not a valid cron expression: {normalised!r}")
    return normalised


def job(
    *,
    id: str,
    name: str,
    cron: str | Callable[[], str],
    category: str = "其他",
    risk: str = "low",
    sla_s: float = 300,
    reads: Iterable[str] = (),
    writes: Iterable[str] = (),
    description: str = "",
) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated function as a scheduled job; the function itself is unchanged."""
    if not id or not id.replace("_", "").isalnum() or not id.isascii():
        raise ImproperlyConfigured(f"job id must be ASCII letters, digits and underscores, got {id!r}")
    if category not in CATEGORIES:
        raise ImproperlyConfigured(f"job {id}: category must be one of {CATEGORIES}, got {category!r}")
    if risk not in RISKS:
        raise ImproperlyConfigured(f"job {id}: risk must be one of {RISKS}, got {risk!r}")
    if float(sla_s) <= 0:
        raise ImproperlyConfigured(f"job {id}: sla_s must be positive, got {sla_s!r}")
    if not callable(cron):
        try:
            cron = validate_cron(cron)
        except ValueError as exc:
            raise ImproperlyConfigured(f"job {id}: {exc}") from None

    def register(func: JobFunction) -> JobFunction:
        spec = JobSpec(
            id=id,
            name=name,
            cron_default=cron,
            category=category,
            risk=risk,
            sla_s=sla_s,
            reads=tuple(reads),
            writes=tuple(writes),
            description=description,
            func=func,
        )
        with _lock:
            existing = _jobs.get(id)
            # Re-importing the same module (autoreload, tests) re-registers the same function.
            if existing is not None and existing.dotted_path != spec.dotted_path:
                raise ImproperlyConfigured(
                    f"job id {id!r} is declared twice: {existing.dotted_path}, {spec.dotted_path}"
                )
            _jobs[id] = spec
        return func

    return register


def get_job(job_id: str) -> JobSpec:
    try:
        return _jobs[job_id]
    except KeyError:
        raise UnknownJob(job_id) from None


def is_registered(job_id: str) -> bool:
    return job_id in _jobs


def all_jobs() -> list[JobSpec]:
    """Every registered job, ordered by category then id (a stable order for pages and APIs)."""
    return sorted(_jobs.values(), key=lambda spec: (CATEGORIES.index(spec.category), spec.id))


def unregister(job_id: str) -> None:
    """Remove a job from this process's registry (tests declaring throwaway jobs use it)."""
    with _lock:
        _jobs.pop(job_id, None)


def autodiscover() -> None:
    """Import every installed app's `jobs` module, which registers its jobs."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("jobs")
