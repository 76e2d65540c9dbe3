"""岗位职责任务自动生成 over many people: time and SQL statements of caching the roles and of the
day's INSERT … SELECT, against a floor measured in the same run.

    .venv/bin/python bench/duty_tasks.py [--roles 50] [--people-per-role 40]

Unless DATABASE_URL is set, uses a fresh SQLite database in a temporary DATA_DIR (with
DATABASE_URL, a fresh `<name>_bench_duty` database next to it). Each role has a daily, a weekly
(Monday) and a monthly (the 1st) template; the bench day, Monday 1 June 2026, makes all three for
everyone. Steps: `store_duty_roles` (what the job caches from the remote), `generate_duty_tasks`
(the first run inserts, the second finds everything made), and the yardstick: the same rows written by
a plain `bulk_create` of ready-made objects (what a loop that decided nothing would still cost).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", type=int, default=50)
    parser.add_argument("--people-per-role", type=int, default=40)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    if os.environ.get("DATABASE_URL"):
        base, _sep, name = os.environ["DATABASE_URL"].rpartition("/")
        bench_name = f"{name}_bench_duty"
        import psycopg

        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
            conn.execute(f'CREATE DATABASE "{bench_name}"')
        os.environ["DATABASE_URL"] = f"{base}/{bench_name}"
    else:
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="yunqiao-bench-")
    import django

    django.setup()
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from projects import duty
    from projects.models import DutyTask

    call_command("migrate", verbosity=0)
    day = date(2026, 6, 1)
    now = datetime(2026, 6, 1, 4, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    roles = [
        {
            "id": f"R{role:03d}",
            "name": f"岗位 {role}",
            "members": [
                {"id": f"U{role:03d}-{n:03d}", "name": f"人员 {role}-{n}", "username": f"u{role}-{n}"}
                for n in range(args.people_per_role)
            ],
            "templates": [
                {"id": f"R{role:03d}-D", "title": "日报", "frequency": "daily"},
                {"id": f"R{role:03d}-W", "title": "周报", "frequency": "weekly", "weekday": 1},
                {"id": f"R{role:03d}-M", "title": "月报", "frequency": "monthly", "day_of_month": 1},
            ],
        }
        for role in range(args.roles)
    ]

    def measured(step):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = step()
            return time.perf_counter() - started, len(queries), result

    rows = []
    rows.append(("store_duty_roles", *measured(lambda: duty.store_duty_roles(source="main", roles=roles, now=now))))
    rows.append(("generate_duty_tasks (1st)", *measured(lambda: duty.generate_duty_tasks(day=day, now=now))))
    rows.append(("generate_duty_tasks (2nd)", *measured(lambda: duty.generate_duty_tasks(day=day, now=now))))
    made = list(DutyTask.objects.all())
    DutyTask.objects.all().delete()
    for task in made:
        task.pk = None
    rows.append(("bulk_create of the same rows", *measured(lambda: len(DutyTask.objects.bulk_create(made)))))
    print(f"database={connection.vendor} roles={args.roles} people={args.roles * args.people_per_role}")
    print(f"{'step':40} {'s':>7} {'queries':>8}  result")
    for name, seconds, queries, result in rows:
        print(f"{name:40} {seconds:7.3f} {queries:8d}  {result}")


if __name__ == "__main__":
    main()
