"""What the outbox costs the transaction that writes notifications: 1,000 rows written in 25
transactions of 40 (a project sync page announcing status changes), committed, with their delivery
tasks handed to the broker at commit. Run three ways in one process, one fresh database:

- floor: the same rows and transactions, nothing handed to the broker;
- one broker call per row (NOTIFY_DELIVERY_BATCH=1: how every row was enqueued before);
- one call per NOTIFY_DELIVERY_BATCH rows of a transaction (default 20).

    .venv/bin/python bench/outbox_enqueue.py                  # SQLite + ORM broker, temp DATA_DIR
    DATABASE_URL=postgres://… REDIS_URL=redis://…/N .venv/bin/python bench/outbox_enqueue.py
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
    parser.add_argument("--transactions", type=int, default=25)
    parser.add_argument("--rows", type=int, default=40, help="rows per transaction")
    args = parser.parse_args()
    os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="yunqiao-bench-outbox-"))
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django_q.brokers import get_broker

    from alerts import outbox
    from alerts.models import Notification

    call_command("migrate", verbosity=0)
    broker = get_broker()

    def run(label: str, *, batch: int | None) -> float:
        real_enqueue = outbox.enqueue_deliveries
        if batch is None:
            outbox.enqueue_deliveries = lambda ids: None  # the floor: rows only
        settings.NOTIFY_DELIVERY_BATCH = batch or 20
        started = time.perf_counter()
        try:
            for t in range(args.transactions):
                with transaction.atomic():
                    for n in range(args.rows):
                        outbox.enqueue_notification(
                            channel=outbox.Channel.EMAIL,
                            address=f"user{n}@example.com",
                            title="项目状态变更",
                            text="进行中 → 已完成",
                            idempotency_key=f"bench-{label}-{t}-{n}",
                        )
        finally:
            outbox.enqueue_deliveries = real_enqueue
        took = time.perf_counter() - started
        queued = broker.queue_size()
        broker.purge_queue()
        print(f"{label:<28} {took:7.2f} s   tasks queued {queued}")
        return took

    Notification.objects.all().delete()
    print(f"database={connection.vendor} broker={type(broker).__name__} {args.transactions} × {args.rows} rows")
    floor = run("floor (no broker)", batch=None)
    per_row = run("one call per row", batch=1)
    batched = run("one call per 20 rows", batch=20)
    print(f"broker cost: per row {per_row - floor:.2f} s, batched {batched - floor:.2f} s")


if __name__ == "__main__":
    main()
