"""Sync throughput: records per second written into a fresh database from a zero-latency sandbox.

    .venv/bin/python bench/sync_throughput.py [--days 3] [--per-day 10000] [--concurrency 4]

Starts its own sandbox process on a free port and, unless DATABASE_URL is set, a fresh SQLite
database in a temporary DATA_DIR; migrates it and empties the synced tables; then syncs `--days`
business days (every declared document type, `--per-day` records per type per day) through
`sync.services.sync_day`, exactly as a batch day task does, and prints records/s. A second pass
re-syncs the same days with `force` (every row is an update) to show the upsert path too.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=10_000, help="records per document type per day")
    parser.add_argument("--concurrency", type=int, default=None, help="SYNC_PAGE_CONCURRENCY (default: settings)")
    parser.add_argument("--page-size", type=int, default=None, help="SYNC_PAGE_SIZE (default: settings)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="yunqiao-bench-"))
    os.environ.setdefault("DATA_DIR", str(data_dir))
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.concurrency is not None:
        os.environ["SYNC_PAGE_CONCURRENCY"] = str(args.concurrency)
    if args.page_size is not None:
        os.environ["SYNC_PAGE_SIZE"] = str(args.page_size)

    port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "manage.py"), "sandbox", "--port", str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "DATA_DIR": str(data_dir / "sandbox-home")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ["YONYOU_TOKEN_URL"] = f"http://127.0.0.1:{port}/iuap-api-auth"
    os.environ["YONYOU_GATEWAY_URL"] = f"http://127.0.0.1:{port}/iuap-api-gateway"
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
                httpx.post(
                    f"http://127.0.0.1:{port}/__sandbox__/faults",
                    json={"records_per_day": args.per_day, "latency_ms": [0, 0]},
                    timeout=5,
                ).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

        from sync import services
        from sync.documents import DOCUMENT_SPECS
        from sync.models import SyncDay

        # A reused database (DATABASE_URL) starts empty too, so the first pass really inserts.
        for spec in DOCUMENT_SPECS:
            spec.model.objects.all().delete()
        SyncDay.objects.all().delete()

        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(
            f"database={engine} days={args.days} types={len(DOCUMENT_SPECS)} per_day_per_type={args.per_day} "
            f"page_size={settings.SYNC_PAGE_SIZE} concurrency={settings.SYNC_PAGE_CONCURRENCY} "
            f"write_batch={settings.SYNC_WRITE_BATCH_SIZE}"
        )
        first_day = date(2025, 10, 1)
        for label, force in (("insert", False), ("update", True)):
            started = time.perf_counter()
            records = 0
            for offset in range(args.days):
                result = services.sync_day(business_date=first_day + timedelta(days=offset), force=force)
                if result.status != "success":
                    raise SystemExit(f"day {result.sync_date} {result.status}: {result.error_message}")
                records += result.success_count
            elapsed = time.perf_counter() - started
            print(f"{label}: {records} records in {elapsed:.2f} s = {records / elapsed:,.0f} records/s")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        # The temporary DATA_DIR (SQLite file, sandbox state) is this run's alone: leave nothing.
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
