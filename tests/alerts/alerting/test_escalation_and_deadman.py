"""Escalation along the contacts' chain (stopped by acknowledgement), and the dead-man rules of
every scheduled job (`job_failed`, `job_not_running`)."""

from datetime import timedelta

import pytest

from alerts import services
from alerts.alerting import deadman
from alerts.alerting.dispatch import dispatch_alert_notifications
from alerts.alerting.escalation import check_alert_escalation
from alerts.alerting.jobs import evaluate_system_rules
from alerts.alerting.lifecycle import acknowledge_alert, raise_alert
from alerts.alerting.models import Alert, Contact, Route
from alerts.models import JobStats, ScheduledJob
from alerts.outbox import Notification

from .conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(declare_rule, settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = settings.ALERT_DEFAULT_EMAIL = ""
    declare_rule(id="line_down", name="产线停机", severity="critical")
    declare_rule(id="stock_note", name="库存提示", severity="info")
    manager = Contact.objects.create(name="经理", email="boss@example.com", wecom_user_id="boss")
    lead = Contact.objects.create(name="组长", email="lead@example.com", escalates_to=manager)
    owner = Contact.objects.create(name="负责人", email="owner@example.com", escalates_to=lead)
    route = Route.objects.create(name="全部", channels=["email"])
    route.contacts.add(owner)
    return owner, lead, manager


def addresses():
    return [n.address for n in Notification.objects.order_by("pk")]


def test_an_unacknowledged_alert_climbs_the_chain_one_step_per_window(chain):
    alert = raise_alert(rule="line_down", key="L1", title="1 号线停机", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    assert addresses() == ["owner@example.com"]

    assert check_alert_escalation(now=T0 + timedelta(minutes=29))["escalated"] == 0
    assert check_alert_escalation(now=T0 + timedelta(minutes=31))["escalated"] == 1
    assert addresses() == ["owner@example.com", "lead@example.com"]
    escalation = Notification.objects.order_by("pk").last()
    assert escalation.title == "【升级】1 号线停机"
    assert "31 分钟无人确认，升级到第 1 级" in escalation.text and "组长" in escalation.text
    alert.refresh_from_db()
    assert (alert.escalation_level, alert.escalated_at) == (1, T0 + timedelta(minutes=31))
    assert alert.events.filter(kind="escalated").get().message == "升级到第 1 级：组长"

    # The next step waits a full window from the last escalation, on the channel used so far.
    assert check_alert_escalation(now=T0 + timedelta(minutes=60))["escalated"] == 0
    assert check_alert_escalation(now=T0 + timedelta(minutes=62))["escalated"] == 1
    assert addresses()[-1] == "boss@example.com"
    assert check_alert_escalation(now=T0 + timedelta(hours=3)) == {"escalated": 0, "end_of_chain": 1}
    assert Notification.objects.count() == 3


def test_acknowledging_stops_the_escalation(chain, staff_user):
    alert = raise_alert(rule="line_down", key="L1", title="1 号线停机", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    acknowledge_alert(alert_id=alert.pk, user=staff_user, comment="在修", now=T0 + timedelta(minutes=10))
    assert check_alert_escalation(now=T0 + timedelta(hours=2))["escalated"] == 0
    assert addresses() == ["owner@example.com"]


def test_info_alerts_and_alerts_nobody_was_told_do_not_escalate(chain):
    raise_alert(rule="stock_note", key="N1", title="提示", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    raise_alert(rule="line_down", key="L2", title="2 号线停机", now=T0)  # not dispatched yet
    Alert.objects.filter(key="L2").update(starts_at=T0 + timedelta(minutes=2))
    assert check_alert_escalation(now=T0 + timedelta(days=1))["escalated"] == 0


# --- Dead-man rules --------------------------------------------------------------------------------


@pytest.fixture
def ten_minute_job(declare_job):
    declare_job(lambda: {}, id="probe_job", cron="*/10 * * * *", sla_s=60)
    services.sync_schedules()
    ScheduledJob.objects.filter(job_id="probe_job").update(registered_at=T0 - timedelta(days=1))


def not_running_keys(now):
    return {firing.key for firing in deadman.jobs_not_running(now)}


def test_a_job_without_a_success_since_its_fire_time_plus_grace_is_not_running(ten_minute_job):
    # SLA 60 s + grace 600 s: at 09:20 the 09:00 fire is due a success, the 09:10 one not yet.
    assert "probe_job" in not_running_keys(T0 + timedelta(minutes=20))
    JobStats.objects.create(job_id="probe_job", last_success_at=T0 + timedelta(seconds=5))
    assert "probe_job" not in not_running_keys(T0 + timedelta(minutes=20))
    assert "probe_job" in not_running_keys(T0 + timedelta(minutes=21, seconds=1))  # 09:10 missed


def test_a_newly_registered_or_disabled_job_is_not_expected(ten_minute_job):
    ScheduledJob.objects.filter(job_id="probe_job").update(registered_at=T0 + timedelta(minutes=15))
    assert "probe_job" not in not_running_keys(T0 + timedelta(minutes=20))
    ScheduledJob.objects.filter(job_id="probe_job").update(registered_at=T0 - timedelta(days=1))
    services.update_job_schedule(job_id="probe_job", enabled=False)
    assert "probe_job" not in not_running_keys(T0 + timedelta(minutes=20))


def test_a_failed_run_raises_job_failed_and_the_next_success_resolves_it(declare_job, settings):
    outcome = {"fail": True}

    def flaky():
        if outcome["fail"]:
            raise RuntimeError("ERP 连接被拒绝")
        return {}

    declare_job(flaky, id="probe_job", name="探针任务")
    services.execute_job(job_id="probe_job")
    evaluate_system_rules(now=T0)
    alert = Alert.objects.get(rule="job_failed")
    assert (alert.key, alert.status, alert.labels["job"]) == ("probe_job", "firing", "probe_job")
    assert alert.title == "任务“探针任务”运行失败"
    assert "ERP 连接被拒绝" in alert.detail

    outcome["fail"] = False
    services.execute_job(job_id="probe_job")
    evaluate_system_rules(now=T0 + timedelta(minutes=1))
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_how) == ("resolved", "auto")


def test_a_route_added_for_someone_already_told_by_escalation_does_not_block_the_group(chain):
    """The dispatch pass counted only level-0 deliveries as "told": it tried to insert a second
    delivery for the escalated manager, failed on the unique row, and so never sent that group."""
    manager = chain[2]
    first = raise_alert(rule="line_down", key="L1", title="1 号线停机", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    check_alert_escalation(now=T0 + timedelta(minutes=31))
    check_alert_escalation(now=T0 + timedelta(minutes=62))  # the manager has heard of L1
    Route.objects.get().contacts.add(manager)
    raise_alert(rule="line_down", key="L2", title="2 号线停机", now=T0 + timedelta(minutes=63))

    report = dispatch_alert_notifications(now=T0 + timedelta(minutes=65))
    assert report["lost_races"] == 0
    to_manager = Notification.objects.filter(address="boss@example.com").order_by("pk").last()
    assert "2 号线停机" in to_manager.text and "1 号线停机" not in to_manager.text
    assert first.deliveries.filter(address="boss@example.com").count() == 1
