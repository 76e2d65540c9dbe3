"""Scheduler metrics cost: time to answer the JSON metrics, the jobs list and the Prometheus
exposition from a database holding many runs, and the overhead of one recorded run.

    .venv/bin/python bench/scheduler_metrics.py [--jobs 37] [--runs-per-job 3000] [--repeat 5]

Unless DATABASE_URL is set, uses a fresh SQLite database in a temporary DATA_DIR (with
DATABASE_URL, it uses a fresh `<name>_bench_scheduler` database next to it). Declares `--jobs`
throwaway jobs (the seed has 37), inserts `--runs-per-job` finished runs for each, then times
`selectors.job_metrics()` (percentiles over each job's last 1,000 runs), `selectors.jobs_overview()`
and `prometheus.exposition()`, and finally the wall time of `execute_job` for a job that does nothing
(claim, run, finish: the scheduler's own overhead per run).
"""

import argparse
import atexit
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def timed(func, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=37)
    parser.add_argument("--runs-per-job", type=int, default=3_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if os.environ.get("DATABASE_URL"):
        base, _sep, name = os.environ["DATABASE_URL"].rpartition("/")
        bench_name = f"{name}_bench_scheduler"
        import psycopg

        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
            conn.execute(f'CREATE DATABASE "{bench_name}"')
        os.environ["DATABASE_URL"] = f"{base}/{bench_name}"
    else:
        data_dir = tempfile.mkdtemp(prefix="yunqiao-bench-scheduler-")
        os.environ["DATA_DIR"] = data_dir
        # The throwaway SQLite database goes with the process.
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from alerts import prometheus, registry, selectors, services
    from alerts.models import JobRun

    call_command("migrate", verbosity=0)
    job_ids = [f"bench_job_{index:02d}" for index in range(args.jobs)]
    for job_id in job_ids:
        registry.job(id=job_id, name=job_id, cron="0 * * * *", category="预警")(lambda: {})
    services.sync_schedules()

    random.seed(7)
    start = timezone.now() - timedelta(days=60)
    inserted = time.perf_counter()
    for job_id in job_ids:
        rows = []
        for index in range(args.runs_per_job):
            at = start + timedelta(minutes=index)
            duration = random.lognormvariate(0, 0.6)
            rows.append(
                JobRun(
                    job_id=job_id,
                    trigger="schedule",
                    status="success",
                    queued_at=at,
                    started_at=at,
                    finished_at=at + timedelta(seconds=duration),
                    duration_s=duration,
                )
            )
        JobRun.objects.bulk_create(rows, batch_size=2_000)
    inserted = time.perf_counter() - inserted
    total = args.jobs * args.runs_per_job
    print(f"database: {connection.vendor}; {args.jobs} jobs x {args.runs_per_job} runs = {total} rows")
    print(f"(inserted in {inserted:.1f}s)")

    for label, func in (
        ("job_metrics (JSON /metrics)", selectors.job_metrics),
        ("jobs_overview (/jobs, page)", selectors.jobs_overview),
        ("prometheus exposition", prometheus.exposition),
    ):
        median, worst = timed(func, args.repeat)
        print(f"{label:32s} median {median * 1000:8.1f} ms   max {worst * 1000:8.1f} ms")

    registry.job(id="bench_noop", name="noop", cron="0 * * * *", category="其他")(lambda: {})
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        services.execute_job(job_id="bench_noop", trigger="schedule")
    per_run = (time.perf_counter() - started) / runs
    print(f"{'execute_job overhead (no-op job)':32s} {per_run * 1000:8.2f} ms per run ({runs} runs)")


if __name__ == "__main__":
    main()
