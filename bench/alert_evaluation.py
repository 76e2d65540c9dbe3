"""Alert rule evaluation cost: one rule over 10,000 keys, then an evaluation with 1,000 changes,
then the dispatch pass that groups the open alerts into messages.

    .venv/bin/python bench/alert_evaluation.py [--keys 10000] [--changes 1000] [--projects 50] [--repeat 5]

Unless DATABASE_URL is set, uses a fresh SQLite database in a temporary DATA_DIR (with
DATABASE_URL, a fresh `<name>_bench_alerts` database next to it). Times, each the median of
`--repeat` fresh runs:
  - first evaluation: `evaluate_rule` raising `--keys` new alerts (rows + "raised" events);
  - steady evaluation: the same keys again (all refreshed, nothing raised or resolved);
  - evaluation with changes: `--changes` keys differ — 40 % resolved, 40 % new, 20 % new titles;
  - dispatch: `dispatch_alert_notifications` over the open alerts spread over `--projects`
    projects, routed to one robot (one message per project, written to the outbox).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if os.environ.get("DATABASE_URL"):
        base, _sep, name = os.environ["DATABASE_URL"].rpartition("/")
        bench_name = f"{name}_bench_alerts"
        import psycopg

        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
            conn.execute(f'CREATE DATABASE "{bench_name}"')
        os.environ["DATABASE_URL"] = f"{base}/{bench_name}"
    else:
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="yunqiao-bench-")
    import django

    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from alerts.alerting.dispatch import dispatch_alert_notifications
    from alerts.alerting.lifecycle import Firing, evaluate_rule
    from alerts.alerting.models import Alert, AlertDelivery, AlertEvent
    from alerts.alerting.rules import declare_rule
    from alerts.models import Notification

    call_command("migrate", verbosity=0)
    settings.ALERT_DEFAULT_ROBOT_KEY, settings.ALERT_DEFAULT_EMAIL = "bench-robot-key", ""
    declare_rule(id="bench_shortage", name="缺料")
    # Delivery is the outbox's business (bench/notification_delivery.py): keep it out of the timing.
    from alerts import outbox

    outbox.enqueue_deliveries = lambda ids: None

    def firing(keys, title="缺料"):
        return [
            Firing(key=f"M-{n:05d}", title=f"物料 M-{n:05d} {title}", labels={"project": f"P{n % args.projects:02d}"})
            for n in keys
        ]

    base = list(range(args.keys))
    resolved = args.changes * 2 // 5
    new = args.changes * 2 // 5
    retitled = args.changes - resolved - new
    changed = firing(base[resolved:], "缺料")
    changed = [
        Firing(key=f.key, title=f.title + "（加急）", labels=f.labels) if i < retitled else f
        for i, f in enumerate(changed)
    ] + firing(range(args.keys, args.keys + new))

    samples = {"first": [], "steady": [], "changes": [], "dispatch": []}
    for _round in range(args.repeat):
        for model in (AlertEvent, AlertDelivery, Notification, Alert):
            model.objects.all().delete()
        now = timezone.now()
        for label, keys_firing, at in (
            ("first", firing(base), now),
            ("steady", firing(base), now + timedelta(minutes=1)),
            ("changes", changed, now + timedelta(minutes=2)),
        ):
            started = time.perf_counter()
            result = evaluate_rule(rule="bench_shortage", firing=keys_firing, now=at)
            samples[label].append(time.perf_counter() - started)
            outcome = result.as_dict()
        started = time.perf_counter()
        report = dispatch_alert_notifications(now=now + timedelta(minutes=5))
        samples["dispatch"].append(time.perf_counter() - started)

    print(f"database: {connection.vendor}; {args.keys} keys, {args.changes} changes, median of {args.repeat}")
    print(f"  last evaluation with changes: {outcome}")
    print(f"  dispatch: {report['messages']} messages for {report['alerts_told']} alerts")
    for label, values in samples.items():
        print(f"  {label:>8}: {statistics.median(values) * 1000:8.0f} ms (max {max(values) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
