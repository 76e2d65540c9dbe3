"""The scheduler's actions, by what they do:

- `alerts.schedules`: registration of the registry into django-q2 schedules, runtime edits;
- `alerts.manual_runs`: who may start a run by hand, triggering and retrying;
- `alerts.runs`: running a job under the overlap policy, closing overdue runs, retention;
- `alerts.run_stats`: the cumulative per-job counters behind the metrics;
- `alerts.dependents`: the jobs queued after a sync refreshed the tables they read.

This module keeps the names other apps, commands and tests import from `alerts.services`.
"""

from alerts.dependents import jobs_reading, run_jobs_reading
from alerts.manual_runs import RUN_PERMISSION, RunNotAllowed, may_start_runs, retry_run, run_job_here, trigger_job
from alerts.runs import (
    KILL_GRACE_S,
    QUEUED_RUN_EXPIRY,
    IllegalRunTransition,
    delete_old_job_runs,
    execute_job,
    expire_overdue_runs,
    hard_timeout_s,
)
from alerts.schedules import (
    RUN_JOB_TASK,
    InvalidCron,
    RegistrationReport,
    checked_cron,
    next_fire_time,
    preview_cron,
    scheduled_job,
    sync_schedules,
    update_job_schedule,
)

__all__ = [
    "KILL_GRACE_S",
    "QUEUED_RUN_EXPIRY",
    "RUN_JOB_TASK",
    "RUN_PERMISSION",
    "IllegalRunTransition",
    "InvalidCron",
    "RegistrationReport",
    "RunNotAllowed",
    "checked_cron",
    "delete_old_job_runs",
    "execute_job",
    "expire_overdue_runs",
    "hard_timeout_s",
    "jobs_reading",
    "may_start_runs",
    "next_fire_time",
    "preview_cron",
    "retry_run",
    "run_job_here",
    "run_jobs_reading",
    "scheduled_job",
    "sync_schedules",
    "trigger_job",
    "update_job_schedule",
]
