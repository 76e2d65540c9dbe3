"""A job's first run through the alerting core: `evaluate_rule` raising thousands of new alerts at
once (issue 13's `check_delivery_delay` raises 9,400), against the model-instance `bulk_create`
the core used before and against the bare SQL as a floor, in alternating rounds of one process.

    .venv/bin/python bench/alert_bulk_raise.py [--keys 9400] [--repeat 3]

Unless DATABASE_URL is set, a fresh SQLite database in a temporary DATA_DIR (with DATABASE_URL, a
fresh `<name>_bench_bulk_raise` database next to it). Each round, from an empty alerts table:
  - floor: the same rows already prepared as tuples, one `executemany` INSERT plus one
    INSERT … SELECT of their events (what the database itself costs, one row per statement;
    on PostgreSQL the core's single `unnest` statement is faster than this);
  - before: `Alert` and `AlertEvent` instances through `bulk_create` in batches of 500 (the old
    `_insert_new`, keys already known to be new);
  - now: `evaluate_rule` (reads the open alerts, inserts the new ones and their events).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


def setup_database() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if os.environ.get("DATABASE_URL"):
        base, _sep, name = os.environ["DATABASE_URL"].rpartition("/")
        bench_name = f"{name}_bench_bulk_raise"
        import psycopg

        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
            conn.execute(f'CREATE DATABASE "{bench_name}"')
        os.environ["DATABASE_URL"] = f"{base}/{bench_name}"
    else:
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="yunqiao-bench-")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=9_400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup_database()

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from alerts.alerting.lifecycle import Firing, _new_alert, evaluate_rule
    from alerts.alerting.models import Alert, AlertEvent
    from alerts.alerting.rules import declare_rule

    rule = declare_rule(id="bench_delivery_delay", name="到货延迟", severity="warning")
    # Shaped like check_delivery_delay's firings: a line per key, four labels, a detail and a link.
    firing = [
        Firing(
            key=f"PO-{n // 4:06d}/{n % 4 + 1}",
            title=f"采购订单 PO-{n // 4:06d} 第{n % 4 + 1}行 到货延迟 {n % 30 + 1} 天",
            detail=f"物料 M-{n % 3000:05d}，计划到货 2026-03-{n % 28 + 1:02d}，已到 {n % 7} / 应到 10",
            labels={
                "vendor": f"V{n % 200:03d}",
                "warehouse": f"W{n % 12:02d}",
                "owner": f"buyer{n % 25}",
                "material": f"M-{n % 3000:05d}",
            },
            link=f"/admin/sync/purchaseorderline/?q=PO-{n // 4:06d}",
            severity="critical" if n % 30 >= 14 else "warning",
        )
        for n in range(args.keys)
    ]

    def empty():
        AlertEvent.objects.all().delete()
        Alert.objects.all().delete()

    def floor(now):
        alerts = [_new_alert(rule, item, now) for item in firing]
        fields = [f for f in Alert._meta.concrete_fields if not f.primary_key]
        rows = [[f.get_db_prep_save(getattr(a, f.attname), connection) for f in fields] for a in alerts]
        at = Alert._meta.get_field("starts_at").get_db_prep_save(now, connection)
        qn = connection.ops.quote_name
        columns = ", ".join(qn(f.column) for f in fields)
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO alerts_alert ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", rows)
            cursor.execute(
                "INSERT INTO alerts_alertevent (alert_id, kind, at, message, data)"
                " SELECT id, 'raised', %s, '', '{}' FROM alerts_alert WHERE rule = %s AND starts_at = %s",
                [at, rule.id, at],
            )
        return time.perf_counter() - started

    def before(now):
        started = time.perf_counter()
        with transaction.atomic():
            alerts = [_new_alert(rule, item, now) for item in firing]
            Alert.objects.bulk_create(alerts, batch_size=500)
            AlertEvent.objects.bulk_create(
                [AlertEvent(alert_id=a.pk, kind=AlertEvent.Kind.RAISED, at=now) for a in alerts], batch_size=500
            )
        return time.perf_counter() - started

    def now_path(now):
        started = time.perf_counter()
        result = evaluate_rule(rule=rule.id, firing=firing, now=now)
        elapsed = time.perf_counter() - started
        assert len(result.raised) == args.keys, result.as_dict()
        return elapsed

    samples = {"floor": [], "before": [], "now": []}
    queries = {}
    for _round in range(args.repeat):
        for label, run in (("floor", floor), ("before", before), ("now", now_path)):
            empty()
            with CaptureQueriesContext(connection) as captured:
                samples[label].append(run(timezone.now()))
            queries[label] = len(captured)
            assert AlertEvent.objects.count() == Alert.objects.count() == args.keys
    empty()
    print(f"database: {connection.vendor}; {args.keys} new alerts, median of {args.repeat} alternating rounds")
    for label, values in samples.items():
        spread = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {label:>6}: {statistics.median(values):6.2f} s  ({spread})  {queries[label]} queries")


if __name__ == "__main__":
    main()
