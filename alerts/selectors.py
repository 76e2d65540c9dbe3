"""Read-side queries of the scheduler, shared by the API, the page, the admin and Prometheus."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from alerts import registry
from alerts.cron_words import describe_cron
from alerts.models import JobRun, JobStats, ScheduledJob

METRICS_WINDOW = 1_000
# The cluster's scheduler looks at due schedules every few seconds; a next run this far in the
# past means no scheduler picked it up (cluster down or stuck): the run is missed.
OVERDUE_AFTER = timedelta(minutes=2)


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least pct% of values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def duration_summary(durations: list[float]) -> dict:
    values = sorted(durations)
    if not values:
        return {"count": 0, "avg": None, "p50": None, "p95": None, "p99": None, "max": None}
    return {
        "count": len(values),
        "avg": round(sum(values) / len(values), 6),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": values[-1],
    }


# SQLite allows at most 500 SELECTs in one compound statement; 200 jobs per statement keeps the
# page at a constant number of queries for any realistic registry.
JOBS_PER_STATEMENT = 200


def _latest_per_job(job_ids: list[str], per_job) -> list[tuple[str, list]]:
    """One UNION ALL statement (per 200 jobs) of each job's own indexed, limited query.

    `per_job(job_id)` is the sliced queryset of one job. Each branch reads at most its limit along
    the (job_id, -queued_at) index, as one query per job did, but the page costs one round trip
    whatever the number of jobs; a window function over the whole table was 3x slower (see
    docs/benchmarks.md). The ORM refuses sliced branches in a union on SQLite, hence the wrapping
    `SELECT * FROM (...)`, which both databases accept.
    """
    statements = []
    for start in range(0, len(job_ids), JOBS_PER_STATEMENT):
        parts, params = [], []
        for index, job_id in enumerate(job_ids[start : start + JOBS_PER_STATEMENT]):
            sql, branch_params = per_job(job_id).query.sql_with_params()
            parts.append(f"SELECT * FROM ({sql}) AS latest_{index}")  # noqa: S608 (ORM-compiled, values as params)
            params.extend(branch_params)
        statements.append((" UNION ALL ".join(parts), params))
    return statements


def _registered_ids(job_ids: list[str] | None) -> list[str]:
    return [spec.id for spec in registry.all_jobs()] if job_ids is None else list(job_ids)


def recent_durations(job_ids: list[str] | None = None, *, limit: int = METRICS_WINDOW) -> dict[str, list[float]]:
    """Durations of each job's last `limit` runs that actually ran (in no particular order: they
    feed percentiles), in one query."""
    job_ids = _registered_ids(job_ids)
    result: dict[str, list[float]] = {job_id: [] for job_id in job_ids}

    def per_job(job_id: str):
        return (
            JobRun.objects.filter(job_id=job_id, duration_s__isnull=False)
            .order_by("-queued_at", "-id")
            .values_list("job_id", "duration_s")[:limit]
        )

    with connection.cursor() as cursor:
        for sql, params in _latest_per_job(job_ids, per_job):
            cursor.execute(sql, params)
            for job_id, duration in cursor.fetchall():
                result[job_id].append(duration)
    return result


def last_runs(job_ids: list[str] | None = None) -> dict[str, JobRun]:
    """The most recent run of each job (by queue time), in one query."""

    def per_job(job_id: str):
        return JobRun.objects.filter(job_id=job_id).order_by("-queued_at", "-id")[:1]

    latest = {}
    for sql, params in _latest_per_job(_registered_ids(job_ids), per_job):
        for run in JobRun.objects.raw(sql, params):
            latest[run.job_id] = run
    return latest


def running_job_ids() -> set[str]:
    return set(JobRun.objects.filter(status=JobRun.Status.RUNNING).values_list("job_id", flat=True))


def _schedules(job_ids: list[str]) -> dict[str, ScheduledJob]:
    return {row.job_id: row for row in ScheduledJob.objects.filter(job_id__in=job_ids).select_related("schedule")}


def run_summary(run: JobRun | None) -> dict | None:
    if run is None:
        return None
    return {
        "id": run.pk,
        "status": run.status,
        "trigger": run.trigger,
        "queued_at": run.queued_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_s": run.duration_s,
        "sla_exceeded": run.sla_exceeded,
        "error": run.error,
    }


def jobs_overview(now: datetime | None = None, *, job_ids: list[str] | None = None) -> list[dict]:
    """One dict per registered job (or per job of `job_ids`): metadata, effective schedule, last run
    and p95, in a fixed number of queries whatever the number of jobs."""
    now = now or timezone.now()
    specs = registry.all_jobs()
    if job_ids is not None:
        specs = [spec for spec in specs if spec.id in job_ids]
    ids = [spec.id for spec in specs]
    schedules = _schedules(ids)
    lasts = last_runs(ids)
    durations = recent_durations(ids)
    running = running_job_ids()
    rows = []
    for spec in specs:
        scheduled = schedules.get(spec.id)
        cron = scheduled.cron if scheduled else spec.cron
        enabled = scheduled.enabled if scheduled else False
        next_run = scheduled.next_run if scheduled else None
        last = lasts.get(spec.id)
        rows.append(
            {
                "id": spec.id,
                "name": spec.name,
                "category": spec.category,
                "risk": spec.risk,
                "sla_s": spec.sla_s,
                "description": spec.description,
                "cron": cron,
                "cron_description": describe_cron(cron),
                "default_cron": spec.cron,
                "cron_edited": cron != spec.cron,
                "enabled": enabled,
                "registered": scheduled is not None,
                "next_run": next_run,
                "overdue": bool(enabled and next_run and next_run < now - OVERDUE_AFTER),
                "running": spec.id in running,
                "last_run": run_summary(last),
                "last_status": last.status if last else None,
                "last_status_display": str(last.get_status_display()) if last else None,
                "p95_s": percentile(sorted(durations.get(spec.id, [])), 95),
                "edited_at": scheduled.edited_at if scheduled else None,
            }
        )
    return rows


def job_detail(job_id: str) -> dict:
    registry.get_job(job_id)  # raises UnknownJob
    return jobs_overview(job_ids=[job_id])[0]


def job_metrics() -> list[dict]:
    """Per job: cumulative run counts, last run, and duration statistics over the last 1,000 runs."""
    specs = registry.all_jobs()
    stats = {row.job_id: row for row in JobStats.objects.all()}
    lasts = last_runs()
    durations = recent_durations()
    result = []
    for spec in specs:
        counters = stats.get(spec.id) or JobStats(job_id=spec.id)
        last = lasts.get(spec.id)
        totals = {status: counters.count_for(status) for status in ("success", "failed", "timeout", "skipped")}
        result.append(
            {
                "job_id": spec.id,
                "name": spec.name,
                "runs": sum(totals.values()),
                "successes": totals["success"],
                "failures": totals["failed"],
                "timeouts": totals["timeout"],
                "skipped": totals["skipped"],
                "sla_exceeded": counters.sla_exceeded_total,
                "last_run_at": (last.started_at or last.queued_at) if last else None,
                "last_status": last.status if last else None,
                "last_success_at": counters.last_success_at,
                "duration_s": duration_summary(durations.get(spec.id, [])),
            }
        )
    return result


def status_counts() -> dict[str, dict[str, int]]:
    """Runs currently stored per job and status (the retention window)."""
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in JobRun.objects.values("job_id", "status").annotate(n=Count("id")):
        counts[row["job_id"]][row["status"]] = row["n"]
    return counts


def recent_failures(*, limit: int = 20, job_id: str | None = None):
    runs = JobRun.objects.filter(status__in=[JobRun.Status.FAILED, JobRun.Status.TIMEOUT])
    if job_id:
        runs = runs.filter(job_id=job_id)
    return runs.order_by("-finished_at", "-id")[:limit]


def job_runs(job_id: str, *, status: str | None = None):
    runs = JobRun.objects.filter(job_id=job_id).select_related("triggered_by")
    if status:
        runs = runs.filter(status=status)
    return runs.order_by("-queued_at", "-id")


# --- The cluster ------------------------------------------------------------------------------


def queue_size() -> int | None:
    """Tasks waiting in the django-q2 broker (None when the broker cannot be reached)."""
    from django_q.brokers import get_broker

    try:
        return int(get_broker().queue_size() or 0)
    except Exception:
        return None


def cluster_stats() -> list[dict]:
    from django_q.brokers import get_broker
    from django_q.status import Stat

    try:
        stats = Stat.get_all(broker=get_broker())
    except Exception:
        return []
    return [
        {
            "cluster_id": str(stat.cluster_id),
            "host": stat.host,
            "status": stat.status,
            "workers": len(stat.workers),
            "uptime_s": round(stat.uptime(), 1) if stat.tob else None,
        }
        for stat in stats
    ]


def scheduler_status(now: datetime | None = None, *, overview: list[dict] | None = None) -> dict:
    """The cluster and the jobs at a glance; pass the `jobs_overview` already built, if any."""
    now = now or timezone.now()
    clusters = cluster_stats()
    alive = [c for c in clusters if c["status"] not in ("Stopped", "Stopping")]
    jobs = jobs_overview(now) if overview is None else overview
    enabled = [row for row in jobs if row["enabled"]]
    upcoming = sorted((row for row in enabled if row["next_run"]), key=lambda row: row["next_run"])
    overdue = [row["id"] for row in jobs if row["overdue"]]
    return {
        "cluster_alive": bool(alive),
        "clusters": clusters,
        "workers": sum(c["workers"] for c in alive),
        "queue_size": queue_size(),
        "jobs_total": len(jobs),
        "jobs_enabled": len(enabled),
        "jobs_running": [row["id"] for row in jobs if row["running"]],
        "overdue_jobs": overdue,
        "next_run": ({"job_id": upcoming[0]["id"], "at": upcoming[0]["next_run"]} if upcoming else None),
        "now": now,
    }
