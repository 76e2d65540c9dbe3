"""Project sync: a full pass over 5,000 remote projects, first into an empty cache, then with 5 %
of them changed, from a zero-latency sandbox.

    .venv/bin/python bench/project_sync.py [--projects 5000] [--changed 0.05] [--concurrency 4]

Starts its own sandbox process on a free port and, unless DATABASE_URL is set, a fresh SQLite
database in a temporary DATA_DIR; migrates it and empties the project cache; then runs
`projects.sync.sync_projects(mode="full")` three times: into the empty cache (every project
inserted), after changing the status of `--changed` of the projects at the remote (those are
rewritten and their status changes notified, the rest only compared by hash), and with nothing
changed.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=5_000)
    parser.add_argument("--changed", type=float, default=0.05, help="share of projects changed before pass 2")
    parser.add_argument("--concurrency", type=int, default=None, help="PROJECTS_FETCH_CONCURRENCY")
    parser.add_argument("--channels", default="email,sms", help="notification channels of status changes ('' for none)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="yunqiao-bench-"))
    os.environ.setdefault("DATA_DIR", str(data_dir))
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.concurrency is not None:
        os.environ["PROJECTS_FETCH_CONCURRENCY"] = str(args.concurrency)

    port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "sandbox", "--port", str(port), "--smtp-port", "0"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATA_DIR": str(data_dir / "sandbox-home")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ["PROJECTS_REMOTE_URL"] = f"http://127.0.0.1:{port}/pm-api/v1"
    control = f"http://127.0.0.1:{port}/__sandbox__/projects"
    try:
        import django

        django.setup()
        import httpx
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(control, json={"reset": True, "count": args.projects}, timeout=5).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

        from projects import sync
        from projects.models import Project, ProjectSyncConfig, ProjectSyncRun, SyncCursor

        Project.objects.all().delete()
        ProjectSyncRun.objects.all().delete()
        SyncCursor.objects.all().delete()
        config = ProjectSyncConfig.load()
        # Status changes write outbox rows (owner + customer contact per channel), as in production.
        config.notify_channels = [channel for channel in args.channels.split(",") if channel]
        config.save()

        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(
            f"database={engine} projects={args.projects} changed={args.changed:.0%} "
            f"concurrency={settings.PROJECTS_FETCH_CONCURRENCY} channels={config.notify_channels}"
        )
        step = max(1, round(1 / args.changed)) if args.changed else 0
        for label in ("empty cache", f"{args.changed:.0%} changed", "nothing changed"):
            if label.endswith("% changed") and step:
                statuses = {}
                for number in range(1, args.projects + 1, step):
                    remote_id = f"P{number:05d}"
                    current = Project.objects.get(remote_id=remote_id).status
                    statuses[remote_id] = "completed" if current != "completed" else "paused"
                httpx.post(control, json={"status": statuses}, timeout=30).raise_for_status()
            started = time.perf_counter()
            run = sync.sync_projects(mode="full")
            elapsed = time.perf_counter() - started
            print(
                f"{label}: {run.projects_total} projects in {elapsed:.2f} s = {run.projects_total / elapsed:,.0f}/s "
                f"(created {run.created}, updated {run.updated}, unchanged {run.unchanged}, failed {run.failed})"
            )
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
