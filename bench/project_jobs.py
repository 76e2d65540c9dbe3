"""The project-side business jobs (issue 14) over a seeded cache: time and query count per job.

    .venv/bin/python bench/project_jobs.py [--projects 2000] [--timesheets-per-project 0]
    # issue 14's sizes: 50,000 tasks, 20,000 issues, 10,000 payment plans, 200,000 timesheet rows
    .venv/bin/python bench/project_jobs.py --tasks-per-project 25 --issues-per-project 10 \
        --plans-per-project 5 --timesheets-per-project 100

Unless DATABASE_URL is set, uses a fresh SQLite database in a temporary DATA_DIR (with
DATABASE_URL, a fresh `<name>_bench_projjobs` database next to it). Seeds `--projects` sandbox
projects (the sandbox's own generator, written by `projects.cache.store_documents` as the sync
does; `--timesheets-per-project` adds that many timesheet rows to each), then runs every job twice
at 2026-06-15 10:00 Shanghai: the first run raises (or stores) everything, the second is the
steady state. Prints per job: seconds and SQL statements of each run, and what it returned.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

JOBS = [
    "check_milestone_alerts",
    "check_milestone_risk_alerts",
    "check_task_delay_alerts",
    "check_task_deadline_reminder",
    "check_overdue_issues",
    "check_blocking_issues",
    "check_timeout_issues",
    "check_issue_timeout_escalation",
    "daily_issue_statistics_snapshot",
    "calculate_response_metrics",
    "calculate_progress_summary",
    "calculate_project_health",
    "daily_health_snapshot",
    "check_milestone_status_and_adjust_payments",
    "check_cost_overrun_alerts",
    "check_payment_reminder",
    "check_workload_overload_alerts",
    "calculate_monthly_labor_cost_task",
]


def pad(document: dict, part: str, count: int, number: int) -> None:
    """Grow a sandbox project's `part` to `count` entries (issue 14's sizes: 50,000 tasks, 20,000
    issues and 10,000 payment plans over 2,000 projects, where the generator gives 2-5 tasks, 0-2
    issues and about 3.5 plans a project): copies of its own entries with new ids and their dates
    shifted by up to a month either way, so the jobs find a similar share of cases in them."""
    from datetime import date, datetime, timedelta

    entries = document[part]
    if not entries or len(entries) >= count:
        return
    originals = list(entries)
    for n in range(len(entries), count):
        copy = dict(originals[n % len(originals)])
        copy["id"] = f"{copy['id']}-x{n}"
        shift = timedelta(days=(number * 7 + n * 13) % 61 - 30)
        for key, value in list(copy.items()):
            if not isinstance(value, str) or key == "id" or len(value) < 10 or value[4:5] != "-":
                continue
            try:
                if len(value) == 10:
                    copy[key] = (date.fromisoformat(value) + shift).isoformat()
                else:
                    copy[key] = (datetime.fromisoformat(value) + shift).isoformat()
            except ValueError:
                pass
        if part == "payment_plans" and "name" in copy:
            copy["name"] = f"{copy['name']} ({n})"
        entries.append(copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--timesheets-per-project", type=int, default=0)
    parser.add_argument("--tasks-per-project", type=int, default=0, help="pad each project's tasks to this many")
    parser.add_argument("--issues-per-project", type=int, default=0, help="pad each project's issues to this many")
    parser.add_argument("--plans-per-project", type=int, default=0, help="pad each project's payment plans")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    if os.environ.get("DATABASE_URL"):
        base, _sep, name = os.environ["DATABASE_URL"].rpartition("/")
        bench_name = f"{name}_bench_projjobs"
        import psycopg

        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
            conn.execute(f'CREATE DATABASE "{bench_name}"')
        os.environ["DATABASE_URL"] = f"{base}/{bench_name}"
    else:
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="yunqiao-bench-")
    import django

    django.setup()
    from datetime import UTC, date, datetime, timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts import registry
    from projects import cache
    from projects.models import PaymentPlan, ProjectIssue, Task, Timesheet
    from sandbox.projects import PEOPLE, build_project

    call_command("migrate", verbosity=0)
    now = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
    started = time.perf_counter()
    for first in range(1, args.projects + 1, 200):
        documents = []
        for number in range(first, min(first + 200, args.projects + 1)):
            document = build_project(number, 0)
            pad(document, "tasks", args.tasks_per_project, number)
            pad(document, "issues", args.issues_per_project, number)
            pad(document, "payment_plans", args.plans_per_project, number)
            for n in range(args.timesheets_per_project):
                day = date(2026, 1, 1) + timedelta(days=(number + n) % 365)
                person = PEOPLE[(number + n) % len(PEOPLE)]
                document["timesheets"].append(
                    {"person": person, "date": day.isoformat(), "hours": "4.0", "rate": "100.00"}
                )
            documents.append(document)
        cache.store_documents(source="main", documents=documents, now=now)
    print(
        f"database={connection.vendor} projects={args.projects} tasks={Task.objects.count()} "
        f"issues={ProjectIssue.objects.count()} payment_plans={PaymentPlan.objects.count()} "
        f"timesheets={Timesheet.objects.count()} seeded_in={time.perf_counter() - started:.1f}s"
    )
    print(f"{'job':45} {'1st s':>7} {'1st q':>6} {'2nd s':>7} {'2nd q':>6}  result of the 1st run")
    for job_id in JOBS:
        func = registry.get_job(job_id).func
        runs = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                result = func(now=now)
                runs.append((time.perf_counter() - started, len(queries), result))
        (s1, q1, result), (s2, q2, _r) = runs
        print(f"{job_id:45} {s1:7.2f} {q1:6d} {s2:7.2f} {q2:6d}  {result}")


if __name__ == "__main__":
    main()
