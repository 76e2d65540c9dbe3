"""After a sync ends under `make run`: each job's after-sync run (status, seconds from the sync's end
to the run's finish, summary) and its alerts (count; severities and key kinds of the newest 200).

    python bench/walk_jobs_after_sync.py http://127.0.0.1:8000 $TOKEN <sync finished_at> erp|proj [<sync started_at>]

The times are the ISO stamps the batch (`/api/v1/sync-status/batches/<id>`) or the project sync
(`/api/projects/sync-history`) reports. See docs/erpjobs.md, "Walked under make run"."""

import collections
import json
import sys
import urllib.request
from datetime import datetime

base, token, since, group = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3]), sys.argv[4]
# Runs are queued when the sync's transaction decides so; they count from its start.
queued_from = datetime.fromisoformat(sys.argv[5]) if len(sys.argv) > 5 else since
ERP = [
    "generate_shortage_alerts",
    "daily_kit_check",
    "check_delivery_delay",
    "check_production_plan_alerts",
    "check_outsourcing_delivery_alerts",
    "check_overdue_receivable_alerts",
    "check_work_report_timeout",
    "generate_production_daily_reports",
    "generate_shortage_daily_report",
    "run_ecn_scheduler",
    "check_equipment_maintenance_reminder",
    "sales_reminder_scan",
    "daily_spec_match_check",
]
PROJ = [
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
    "generate_job_duty_tasks",
    "check_presale_workorder_timeout",
    "check_opportunity_stage_timeout",
]


def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Token " + token})
    return json.load(urllib.request.urlopen(req))


for job in ERP if group == "erp" else PROJ:
    runs = [
        r
        for r in get(f"/api/v1/scheduler/jobs/{job}/runs?page_size=50")["results"]
        if r["trigger"] == "after_sync" and datetime.fromisoformat(r["queued_at"]) >= queued_from
    ]
    d = get(f"/api/v1/alerts/?rule={job}&page_size=500")
    alerts, total = d["results"], d["count"]  # kinds and severities of the newest 500
    kinds = collections.Counter(a["key"].split(":")[0] if ":" in a["key"] else "-" for a in alerts)
    sev = collections.Counter(a["severity"] for a in alerts)
    status = collections.Counter(a["status"] for a in alerts)
    if not runs:
        print(f"{job}: NO after-sync run; alerts {total}")
        continue
    r = runs[-1]
    lag = (datetime.fromisoformat(r["finished_at"]) - since).total_seconds() if r["finished_at"] else None
    summary = json.dumps(r["result"], ensure_ascii=False)[:300]
    print(f"{job}: {len(runs)} run(s) {r['status']} +{lag:.1f}s {summary} {r['error'][:200]}")
    print(f"    alerts {total} status {dict(status)} severity {dict(sev)} kinds {dict(kinds)}")
