"""The ERP business jobs over a mid-size manufacturer: per job, time and query count of a first run
(raising its alerts) and a second run (all refreshed), at full size and at a tenth of it, to show the
query count does not grow with the rows.

    .venv/bin/python bench/erpjobs_jobs.py [--scale 1.0]

Full size (issue 13): 30,000 stock rows, 20,000 open purchase lines (10,000 arrivals), 5,000
production orders with 60,000 material lines, 10,000 receivables, plus 2,000 outsourcing orders,
10,000 work reports, 500 ECNs, 500 maintenance plans, 5,000 sales orders, 2,000 quotations and
2,000 opportunities. Unless DATABASE_URL is set, a fresh SQLite database in a temporary DATA_DIR
(with DATABASE_URL, a fresh `<name>_bench_erpjobs` database next to it).
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
    "generate_shortage_alerts",
    "daily_kit_check",
    "check_delivery_delay",
    "check_production_plan_alerts",
    "check_outsourcing_delivery_alerts",
    "check_overdue_receivable_alerts",
    "check_work_report_timeout",
    "run_ecn_scheduler",
    "check_equipment_maintenance_reminder",
    "sales_reminder_scan",
    "daily_spec_match_check",
]


def setup_database() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if os.environ.get("DATABASE_URL"):
        base, _sep, name = os.environ["DATABASE_URL"].rpartition("/")
        bench_name = f"{name}_bench_erpjobs"
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


def seed(scale: float, day) -> None:
    """Rows as the day sync writes them, spread so that each job finds some keys true and most not."""
    from datetime import datetime, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from sync import models as m

    def n(count):
        return max(1, int(count * scale))

    now = timezone.now()
    common = {"business_date": day, "synced_at": now}
    products = [f"M-{i:05d}" for i in range(n(3000))]
    batch = 2000

    def create(model, rows):
        model.objects.all().delete()
        model.objects.bulk_create(rows, batch_size=batch)

    create(
        m.MaterialStock,
        [
            m.MaterialStock(
                code=f"ST{i}",
                remote_id=str(i),
                warehouse_name=f"仓{i % 10}",
                product_code=products[i % len(products)],
                current_quantity=Decimal(i % 150),
                safety_quantity=Decimal(100),
                **common,
            )
            for i in range(n(30000))
        ],
    )
    create(
        m.PurchaseOrder,
        [
            m.PurchaseOrder(
                code=f"PO{i}",
                remote_id=str(i),
                vendor_name=f"供应商{i % 50}",
                product_code=products[i % len(products)],
                specification="A" if i % 9 else "B",
                quantity=Decimal(100),
                status=1,
                arrival_date=day + timedelta(days=i % 40 - 20),
                **common,
            )
            for i in range(n(20000))
        ],
    )
    create(
        m.PurchaseArrival,
        [
            m.PurchaseArrival(
                code=f"PA{i}", remote_id=str(i), source_order_code=f"PO{i * 2}", quantity=Decimal(60 + i % 50), **common
            )
            for i in range(n(10000))
        ],
    )
    orders = n(5000)
    create(
        m.ProductionOrder,
        [
            m.ProductionOrder(
                code=f"MO{i}",
                remote_id=str(i),
                product_code=products[i % len(products)],
                quantity=Decimal(100),
                finished_quantity=Decimal(i % 100),
                start_date=day + timedelta(days=i % 20 - 15),
                finish_date=day + timedelta(days=i % 20 - 5),
                status=1,
                **common,
            )
            for i in range(orders)
        ],
    )
    create(
        m.ProductionMaterialLine,
        [
            m.ProductionMaterialLine(
                code=f"ML{i}",
                remote_id=str(i),
                order_code=f"MO{i % orders}",
                line_number=i // orders,
                product_code=products[(i * 7) % len(products)],
                specification="A",
                required_quantity=Decimal(10 + i % 200),
                issued_quantity=Decimal(0),
                **common,
            )
            for i in range(n(60000))
        ],
    )
    create(
        m.Receivable,
        [
            m.Receivable(
                code=f"AR{i}",
                remote_id=str(i),
                customer_id=str(i % 500),
                customer_name=f"客户{i % 500}",
                amount=Decimal(1000),
                balance=Decimal(i % 3 * 400),
                due_date=day - timedelta(days=i % 150 - 30),
                **common,
            )
            for i in range(n(10000))
        ],
    )
    create(
        m.OutsourcingOrder,
        [
            m.OutsourcingOrder(
                code=f"OS{i}",
                remote_id=str(i),
                vendor_name=f"委外商{i % 20}",
                quantity=Decimal(100),
                received_quantity=Decimal(i % 101),
                due_date=day + timedelta(days=i % 30 - 10),
                status=1,
                **common,
            )
            for i in range(n(2000))
        ],
    )
    moment = datetime.combine(day, datetime.min.time(), tzinfo=timezone.get_default_timezone())
    create(
        m.WorkReport,
        [
            m.WorkReport(
                code=f"WR{i}",
                remote_id=str(i),
                order_code=f"MO{i % orders}",
                reported_at=moment - timedelta(hours=i % 96),
                quantity=Decimal(5),
                **common,
            )
            for i in range(n(10000))
        ],
    )
    create(
        m.EngineeringChange,
        [
            m.EngineeringChange(
                code=f"EC{i}",
                remote_id=str(i),
                stage=i % 3,
                approval_deadline=day - timedelta(days=i % 20 - 10),
                implementation_deadline=day - timedelta(days=i % 30 - 15),
                owner_name=f"工程师{i % 10}",
                **common,
            )
            for i in range(n(500))
        ],
    )
    create(
        m.EquipmentMaintenancePlan,
        [
            m.EquipmentMaintenancePlan(
                code=f"EM{i}",
                remote_id=str(i),
                equipment_code=f"EQ{i}",
                next_maintenance_date=day + timedelta(days=i % 40 - 10),
                **common,
            )
            for i in range(n(500))
        ],
    )
    create(
        m.SalesOrder,
        [
            m.SalesOrder(
                code=f"SO{i}",
                remote_id=str(i),
                customer_name=f"客户{i % 500}",
                product_code=products[(i * 3) % len(products)],
                quantity=Decimal(200),
                delivery_date=day + timedelta(days=i % 30),
                status=1,
                **common,
            )
            for i in range(n(5000))
        ],
    )
    create(
        m.Quotation,
        [
            m.Quotation(
                code=f"QT{i}",
                remote_id=str(i),
                customer_name=f"客户{i % 500}",
                status=i % 3,
                valid_until=day + timedelta(days=i % 30),
                **common,
            )
            for i in range(n(2000))
        ],
    )
    create(
        m.Opportunity,
        [
            m.Opportunity(
                code=f"OP{i}",
                remote_id=str(i),
                customer_name=f"客户{i % 500}",
                closed=i % 4 == 0,
                last_follow_up=day - timedelta(days=i % 40),
                **common,
            )
            for i in range(n(2000))
        ],
    )


def run_jobs(now) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts.alerting.models import Alert, AlertEvent
    from erpjobs import jobs

    AlertEvent.objects.all().delete()
    Alert.objects.all().delete()
    results = {}
    for job_id in JOBS:
        for label in ("first", "second"):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                summary = getattr(jobs, job_id)(now=now)
                elapsed = time.perf_counter() - started
            results[(job_id, label)] = (elapsed, len(queries), summary["firing"])
            print(f"  ... {job_id} {label}: {elapsed:.2f} s, {len(queries)} queries", file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    setup_database()
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from django.db import connection

    day = date(2026, 3, 9)
    now = datetime(2026, 3, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    by_scale = {}
    for scale in (args.scale / 10, args.scale):
        started = time.perf_counter()
        seed(scale, day)
        print(f"seeded scale {scale} in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        by_scale[scale] = run_jobs(now)
    small, full = by_scale[args.scale / 10], by_scale[args.scale]
    print(f"database: {connection.vendor}; scale {args.scale} (and {args.scale / 10} for the query counts)")
    print(f"  {'job':<38} {'keys':>6} {'first s':>8} {'second s':>9} {'queries first/second':>21} {'at 1/10':>8}")
    for job_id in JOBS:
        first, second = full[(job_id, "first")], full[(job_id, "second")]
        tenth = f"{small[(job_id, 'first')][1]}/{small[(job_id, 'second')][1]}"
        counts = f"{first[1]}/{second[1]}"
        print(f"  {job_id:<38} {first[2]:>6} {first[0]:>8.2f} {second[0]:>9.2f} {counts:>21} {tenth:>8}")


if __name__ == "__main__":
    main()
