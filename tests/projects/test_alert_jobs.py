"""The project-side alert jobs (issue 14) over cache rows written by the projects sync service:
per job a case that fires (project P00001), a near miss that does not (P00002), dedupe across two
runs, a threshold changed at run time, and auto-resolve once the remote data clears the case.
The last test runs every job over the sandbox's default projects synced over HTTP."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.alerting.models import Alert
from alerts.alerting.thresholds import set_threshold
from projects import alert_jobs, cache
from sandbox.projects import PEOPLE as PEOPLE_IN_SANDBOX
from sandbox.projects import build_project

# 10:00 in Shanghai on 2026-06-15.
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
PEOPLE = {1: "张伟", 2: "王芳"}


def moment(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat()


def base_document(number: int) -> dict:
    document = build_project(number, 0, status="in_progress")
    document.update(
        planned_start="2026-05-01",
        planned_end="2026-09-30",
        budget="100000.00",
        actual_cost="10000.00",
        progress=50,
        milestones=[],
        tasks=[],
        issues=[],
        payment_plans=[],
        timesheets=[],
    )
    return document


def milestone(pid, n, planned, status="pending"):
    return {
        "id": f"{pid}-M{n}",
        "name": f"里程碑 {n}",
        "planned_date": planned,
        "actual_date": None,
        "status": status,
        "payment_share": 50,
    }


def task(pid, due, progress=0, status="doing", assignee="张伟"):
    return {
        "id": f"{pid}-T1",
        "name": "任务 1",
        "assignee": assignee,
        "due_date": due,
        "progress": progress,
        "status": status,
    }


def issue(pid, *, opened_h, due_h=500, responded=True, resolved=False, blocking=False, severity="medium"):
    return {
        "id": f"{pid}-I1",
        "title": "问题 1",
        "severity": severity,
        "blocking": blocking,
        "opened_at": moment(opened_h),
        "responded_at": moment(opened_h + 0.5) if responded else None,
        "resolved_at": moment(-0.1) if resolved else None,
        "due_at": moment(due_h),
    }


def by_variant(variant, **values):
    return values[variant]


def milestone_case(doc, v):
    pid = doc["id"]
    planned = by_variant(v, fire="2026-06-20", near="2026-06-25", clear="2026-06-20")
    doc["milestones"] = [milestone(pid, 1, planned, "done" if v == "clear" else "pending")]


def risk_case(doc, v):
    pid = doc["id"]
    doc["milestones"] = [milestone(pid, 1, "2026-06-01", "done"), milestone(pid, 2, "2026-07-01")]
    # 14 of the window's 30 days elapsed: 47 % expected.
    doc["tasks"] = [task(pid, "2026-06-20", progress=by_variant(v, fire=10, near=30, clear=40))]


def delay_case(doc, v):
    pid = doc["id"]
    due = by_variant(v, fire="2026-06-14", near="2026-06-15", clear="2026-06-14")
    doc["tasks"] = [task(pid, due, status="done" if v == "clear" else "doing")]


def reminder_case(doc, v):
    pid = doc["id"]
    # Due by the end of the day, local time: 14 h (fires) or 38 h (near miss) from NOW.
    due = by_variant(v, fire="2026-06-15", near="2026-06-16", clear="2026-06-15")
    doc["tasks"] = [task(pid, due, status="done" if v == "clear" else "doing")]


def overdue_issue_case(doc, v):
    due = by_variant(v, fire=-1, near=1, clear=-1)
    doc["issues"] = [issue(doc["id"], opened_h=-10, due_h=due, resolved=v == "clear")]


def blocking_case(doc, v):
    doc["issues"] = [issue(doc["id"], opened_h=-3, blocking=v != "near", resolved=v == "clear")]


def response_case(doc, v):
    opened = by_variant(v, fire=-25, near=-23, clear=-25)
    doc["issues"] = [issue(doc["id"], opened_h=opened, responded=v == "clear")]


def resolution_case(doc, v):
    opened = by_variant(v, fire=-170, near=-160, clear=-170)
    doc["issues"] = [issue(doc["id"], opened_h=opened, resolved=v == "clear")]


def cost_case(doc, v):
    # Half done on a 100,000 budget: 55,000 is the limit with the 10 % tolerance.
    doc["actual_cost"] = by_variant(v, fire="60000.00", near="54000.00", clear="40000.00")


def payment_case(doc, v):
    pid = doc["id"]
    due = by_variant(v, fire="2026-06-20", near="2026-06-25", clear="2026-06-20")
    received = "1000.00" if v == "clear" else "0.00"
    doc["payment_plans"] = [
        {
            "id": f"{pid}-PAY1",
            "name": "第 1 期款",
            "amount": "1000.00",
            "due_date": due,
            "received_amount": received,
            "received_date": "2026-06-14" if v == "clear" else None,
        }
    ]


def workload_case(doc, v):
    person = PEOPLE[int(doc["id"][1:])]
    hours = by_variant(v, fire="10.0", near="8.0", clear="6.0")  # five days: 50 / 40 / 30 h against 45
    doc["timesheets"] = [{"person": person, "date": f"2026-06-{day:02d}", "hours": hours} for day in range(11, 16)]


def milestone_payment_case(doc, v):
    pid = doc["id"]
    planned = by_variant(v, fire="2026-06-14", near="2026-06-15", clear="2026-06-14")
    done = v == "clear"
    doc["milestones"] = [milestone(pid, 1, planned, "done" if done else "pending")]
    doc["milestones"][0]["actual_date"] = "2026-06-14" if done else None
    doc["payment_plans"] = [
        {
            "id": f"{pid}-PAY1",
            "name": "第 1 期款",
            "amount": "1000.00",
            "due_date": planned,
            "received_amount": "1000.00" if done else "0.00",
            "received_date": "2026-06-14" if done else None,
            "milestone_id": f"{pid}-M1",
        }
    ]


def work_order_case(doc, v):
    doc["type"] = "presales"
    opened = by_variant(v, fire=-50, near=-46, clear=-50)  # against 48 h
    doc["work_orders"] = [
        {
            "id": f"{doc['id']}-WO1",
            "title": "方案演示",
            "opened_at": moment(opened),
            "closed_at": moment(-1) if v == "clear" else None,
        }
    ]


def stage_case(doc, v):
    doc["type"] = "presales"
    days = by_variant(v, fire=31, near=29, clear=31)  # 方案: 30 days
    doc["opportunity"] = {"stage": "quote" if v == "clear" else "proposal", "stage_entered_at": moment(-24 * days)}
    if v == "clear":
        doc["opportunity"]["stage_entered_at"] = moment(-24)  # moved on to 报价 yesterday


def part_key(suffix):
    return lambda number: f"main:P{number:05d}{suffix}"


# job, case, key of project n, threshold change, the projects firing after it.
CASES = {
    "check_milestone_alerts": (milestone_case, part_key("-M1"), ("milestone_due_within_days", 10), {1, 2}),
    "check_milestone_risk_alerts": (risk_case, part_key("-M2"), ("milestone_risk_gap_pct", 15), {1, 2}),
    "check_task_delay_alerts": (delay_case, part_key("-T1"), ("task_delay_grace_days", 1), set()),
    "check_task_deadline_reminder": (reminder_case, part_key("-T1"), ("task_reminder_hours", 40), {1, 2}),
    "check_overdue_issues": (overdue_issue_case, part_key("-I1"), ("issue_overdue_grace_hours", 2), set()),
    "check_blocking_issues": (blocking_case, part_key("-I1"), ("blocking_issue_min_age_hours", 4), set()),
    "check_timeout_issues": (response_case, part_key("-I1"), ("issue_response_sla_medium_hours", 22), {1, 2}),
    "check_issue_timeout_escalation": (
        resolution_case,
        part_key("-I1"),
        ("issue_resolution_sla_medium_hours", 150),
        {1, 2},
    ),
    "check_cost_overrun_alerts": (cost_case, part_key(""), ("cost_overrun_tolerance_pct", 5), {1, 2}),
    "check_payment_reminder": (payment_case, part_key("-PAY1"), ("payment_due_within_days", 10), {1, 2}),
    "check_milestone_status_and_adjust_payments": (
        milestone_payment_case,
        part_key("-PAY1"),
        ("milestone_payment_grace_days", 1),
        set(),
    ),
    "check_presale_workorder_timeout": (work_order_case, part_key("-WO1"), ("presale_workorder_sla_hours", 40), {1, 2}),
    "check_opportunity_stage_timeout": (stage_case, part_key(""), ("opportunity_stage_proposal_days", 25), {1, 2}),
    "check_workload_overload_alerts": (workload_case, PEOPLE.get, ("workload_weekly_hours", 35), {1, 2}),
}


JOBS = {job_id: getattr(alert_jobs, job_id) for job_id in CASES}


def store(case, number, variant):
    document = base_document(number)
    case(document, variant)
    outcome = cache.store_documents(source="main", documents=[document], now=NOW)
    assert not outcome.unreadable, outcome.unreadable


def open_keys(rule):
    return set(Alert.objects.filter(rule=rule, status__in=["firing", "acknowledged"]).values_list("key", flat=True))


@pytest.mark.parametrize("job_id", sorted(CASES))
def test_job_fires_skips_the_near_miss_dedupes_follows_its_threshold_and_resolves(db, job_id):
    case, key_of, (threshold, value), after_change = CASES[job_id]
    run = JOBS[job_id]
    store(case, 1, "fire")
    store(case, 2, "near")

    assert run(now=NOW) == {"raised": 1, "refreshed": 0, "resolved": 0}
    assert open_keys(job_id) == {key_of(1)}
    alert = Alert.objects.get(rule=job_id)
    if job_id == "check_workload_overload_alerts":
        assert alert.labels == {"person": PEOPLE[1]}
    else:
        assert alert.labels["project"] == "P00001" and alert.labels["customer"] and alert.labels["owner"]

    # Dedupe: the second run refreshes the same alert.
    assert run(now=NOW + timedelta(minutes=5)) == {"raised": 0, "refreshed": 1, "resolved": 0}
    assert Alert.objects.filter(rule=job_id).count() == 1

    # Staff change the threshold: the next run follows it.
    set_threshold(key=threshold, value=value)
    run(now=NOW + timedelta(minutes=10))
    assert open_keys(job_id) == {key_of(n) for n in after_change}

    # The remote clears the case: its alert resolves by itself.
    set_threshold(key=threshold, value=alert_jobs.declared_default(threshold))
    store(case, 1, "clear")
    run(now=NOW + timedelta(minutes=15))
    assert key_of(1) not in open_keys(job_id)
    assert Alert.objects.get(pk=alert.pk).status == "resolved"


def test_lateness_makes_an_overdue_task_critical(db):
    document = base_document(1)
    document["tasks"] = [task("P00001", "2026-05-20")]  # 26 days late, over the 14-day default
    cache.store_documents(source="main", documents=[document], now=NOW)
    alert_jobs.check_task_delay_alerts(now=NOW)
    assert Alert.objects.get(rule="check_task_delay_alerts").severity == "critical"


def test_blocking_issues_are_critical_at_once(db):
    store(blocking_case, 1, "fire")
    alert_jobs.check_blocking_issues(now=NOW)
    assert Alert.objects.get(rule="check_blocking_issues").severity == "critical"


def test_a_threshold_out_of_bounds_is_refused_in_chinese_and_changes_nothing(db):
    from django.core.exceptions import ValidationError

    from alerts.alerting.models import AlertThreshold

    with pytest.raises(ValidationError) as refused:
        set_threshold(key="milestone_due_within_days", value=-1)
    assert "取值范围" in str(refused.value)
    assert not AlertThreshold.objects.exists()


def test_every_job_finds_cases_in_the_sandbox_default_projects_synced_over_http(remote):
    from projects import sync
    from projects.models import Project
    from sandbox.projects import BASE_DAY, CRUNCH_EVERY, crunch_start

    remote.control(reset=True, count=300)
    assert sync.sync_projects(mode="full").status == "success"
    counts = {job_id: JOBS[job_id](now=NOW)["raised"] for job_id in CASES}
    del counts["check_workload_overload_alerts"]
    assert all(counts.values()), str(counts)

    # The workload case: the last day of a crunch week the sandbox gives every 50th project.
    crunched = Project.objects.get(remote_id=f"P{CRUNCH_EVERY:05d}")
    last_day = BASE_DAY + timedelta(days=crunch_start(CRUNCH_EVERY) + 6)
    alert_jobs.check_workload_overload_alerts(now=datetime.combine(last_day, datetime.min.time(), tzinfo=UTC))
    overloaded = open_keys("check_workload_overload_alerts")
    assert crunched.owner_name in overloaded
    assert len(overloaded) < len(PEOPLE_IN_SANDBOX), "everyone overloaded: no near miss left"


def test_the_jobs_are_registered_with_the_seed_ids_names_and_times():
    from alerts import registry

    expected = {
        "check_milestone_alerts": ("里程碑预警", "0 8 * * *"),
        "check_milestone_risk_alerts": ("里程碑风险预警", "10 8 * * *"),
        "check_task_delay_alerts": ("任务延期预警", "0 * * * *"),
        "check_task_deadline_reminder": ("任务到期提醒", "0 * * * *"),
        "check_overdue_issues": ("问题逾期预警", "0 * * * *"),
        "check_blocking_issues": ("阻塞问题预警", "5 * * * *"),
        "check_timeout_issues": ("问题超时升级", "0 1 * * *"),
        "check_issue_timeout_escalation": ("问题超时升级服务", "30 1 * * *"),
        "check_cost_overrun_alerts": ("成本超支预警", "0 10 * * *"),
        "check_payment_reminder": ("收款提醒服务", "30 9 * * *"),
        "check_workload_overload_alerts": ("负荷超限预警", "0 11 * * *"),
        "check_milestone_status_and_adjust_payments": ("里程碑状态监控与收款计划调整", "0 * * * *"),
        "check_presale_workorder_timeout": ("售前工单超时提醒", "0 16 * * *"),
        "check_opportunity_stage_timeout": ("商机阶段超时提醒", "30 15 * * *"),
        "daily_issue_statistics_snapshot": ("每日问题统计快照", "0 3 * * *"),
        "calculate_response_metrics": ("计算响应时效指标", "0 1 * * *"),
        "calculate_progress_summary": ("进度汇总计算", "0 * * * *"),
        "calculate_project_health": ("健康度自动计算", "0 * * * *"),
        "daily_health_snapshot": ("健康度快照", "0 2 * * *"),
        "calculate_monthly_labor_cost_task": ("月度工时成本计算", "0 2 1 * *"),
        "generate_job_duty_tasks": ("岗位职责任务自动生成", "0 4 * * *"),
    }
    for job_id, (name, cron) in expected.items():
        spec = registry.get_job(job_id)
        assert (spec.name, spec.cron) == (name, cron)


def test_a_delayed_milestone_moves_its_payment_and_a_completed_one_makes_it_due(db):
    from projects.models import PaymentPlan

    document = base_document(1)
    document["milestones"] = [milestone("P00001", 1, "2026-06-05"), milestone("P00001", 2, "2026-06-01", "done")]
    document["milestones"][1]["actual_date"] = "2026-06-01"
    document["payment_plans"] = [
        {
            "id": f"P00001-PAY{n}",
            "name": f"第 {n} 期款",
            "amount": "1000.00",
            "due_date": due,
            "received_amount": "0.00",
            "received_date": None,
            "milestone_id": f"P00001-M{n}",
        }
        for n, due in ((1, "2026-06-20"), (2, "2026-07-01"))
    ]
    cache.store_documents(source="main", documents=[document], now=NOW)

    alert_jobs.check_milestone_status_and_adjust_payments(now=NOW)

    moved, due_now = PaymentPlan.objects.order_by("remote_id")
    # Ten days late: the 2026-06-20 payment is expected ten days later.
    assert (str(moved.expected_date), str(moved.due_date)) == ("2026-06-30", "2026-06-20")
    assert "延期 10 天" in moved.expected_reason
    assert str(due_now.expected_date) == "2026-06-01" and "已完成" in due_now.expected_reason
    assert open_keys("check_milestone_status_and_adjust_payments") == {"main:P00001-PAY1", "main:P00001-PAY2"}


def _queries_of_every_job(projects: int) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alerts import registry

    documents = [build_project(number, 0) for number in range(1, projects + 1)]
    cache.store_documents(source="main", documents=documents, now=NOW)
    counts = {}
    for job_id in [
        *CASES,
        "daily_issue_statistics_snapshot",
        "calculate_response_metrics",
        "calculate_progress_summary",
        "calculate_project_health",
        "calculate_monthly_labor_cost_task",
    ]:
        registry.get_job(job_id).func(now=NOW)
        # The steady run: the first one's INSERTs come in batches (SQLite's variable limit).
        with CaptureQueriesContext(connection) as queries:
            registry.get_job(job_id).func(now=NOW + timedelta(minutes=1))
        counts[job_id] = len(queries)
    return counts


def test_query_count_does_not_grow_with_the_rows(db):
    # The bench caught a per-row threshold read (a query per late row); this keeps statements fixed.
    small = _queries_of_every_job(100)
    Alert.objects.all().delete()
    large = _queries_of_every_job(400)
    # Four times the rows: the same statements, give or take one more batch of a bulk write (or one
    # UPDATE skipped when a small cache has nothing to refresh).
    grown = {job: (small[job], large[job]) for job in small if abs(large[job] - small[job]) > 1}
    assert not grown, grown
