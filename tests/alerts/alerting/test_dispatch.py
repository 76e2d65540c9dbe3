"""Routing, grouping within the window, repeat interval, resolution notices, silences and holds
applied to messages: what lands in the outbox (Notification rows) for whom."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from alerts.alerting.dispatch import dispatch_alert_notifications
from alerts.alerting.lifecycle import Firing, acknowledge_alert, evaluate_rule, raise_alert, resolve_alert
from alerts.alerting.models import Alert, AlertDelivery, Contact, Route
from alerts.alerting.suppression import create_silence
from alerts.alerting.thresholds import set_threshold
from alerts.outbox import Notification

from .conftest import T0

pytestmark = pytest.mark.django_db

ROBOT = "ops-robot-key-1"


@pytest.fixture(autouse=True)
def _no_default_receivers(settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = ""
    settings.ALERT_DEFAULT_EMAIL = ""


@pytest.fixture
def ops(declare_rule):
    """A shortage rule routed to the ops robot and the buyer's email."""
    declare_rule(id="stock_low", name="缺料", severity="warning", advice="联系采购补货")
    robot = Contact.objects.create(name="运维群", kind="group", wecom_robot_key=ROBOT)
    buyer = Contact.objects.create(name="采购小王", email="wang@example.com", phone="13800000000")
    route = Route.objects.create(name="缺料", rules=["stock_low"], channels=["wecom_robot", "email"])
    route.contacts.add(robot, buyer)
    return route


def sent(**filters):
    return list(Notification.objects.filter(**filters).order_by("pk"))


def test_a_burst_is_one_message_per_receiver_after_the_group_wait(ops):
    evaluate_rule(
        rule="stock_low", firing=[Firing(key=f"M-{n:03}", title=f"物料 M-{n:03} 缺料") for n in range(200)], now=T0
    )

    report = dispatch_alert_notifications(now=T0 + timedelta(seconds=29))
    assert report["messages"] == 0 and report["waiting"] == 400  # still inside the 30 s group_wait
    assert not Notification.objects.exists()

    report = dispatch_alert_notifications(now=T0 + timedelta(seconds=30))
    assert report["messages"] == 2
    [robot] = sent(channel="wecom_robot")
    [email] = sent(channel="email")
    assert (robot.address, email.address) == (ROBOT, "wang@example.com")
    assert robot.title == "【警告】缺料 200 条"
    assert "物料 M-000 缺料" in robot.text and "另有 185 条" in robot.text and "联系采购补货" in robot.text
    assert robot.link.endswith("/alerts/?rule=stock_low")
    assert len(robot.alert_ids) == 200
    # The timeline says who was told, without showing the robot's secret key whole.
    assert set(Alert.objects.get(key="M-000").events.filter(kind="notified").values_list("message", flat=True)) == {
        "wecom_robot → ops-…-1",
        "email → wang@example.com",
    }

    # Raised again while open: no new message.
    evaluate_rule(
        rule="stock_low", firing=[Firing(key=f"M-{n:03}", title="x") for n in range(200)], now=T0 + timedelta(minutes=5)
    )
    assert dispatch_alert_notifications(now=T0 + timedelta(minutes=10))["messages"] == 0
    assert Notification.objects.count() == 2


def test_messages_are_grouped_by_rule_and_project(ops):
    for key, project in (("A", "P1"), ("B", "P1"), ("C", "P2")):
        raise_alert(rule="stock_low", key=key, title=key, labels={"project": project}, now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    titles = sorted(n.title for n in sent(channel="wecom_robot"))
    assert titles == ["【警告】项目 P1：缺料 2 条", "【警告】项目 P2：缺料 1 条"]


def test_an_alert_joining_a_group_already_told_waits_for_its_own_group_wait(ops):
    raise_alert(rule="stock_low", key="A", title="A", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    raise_alert(rule="stock_low", key="B", title="B", now=T0 + timedelta(minutes=2))
    assert dispatch_alert_notifications(now=T0 + timedelta(minutes=2, seconds=29))["messages"] == 0
    dispatch_alert_notifications(now=T0 + timedelta(minutes=2, seconds=30))
    assert [n.title for n in sent(channel="wecom_robot")] == ["【警告】缺料 1 条", "【警告】缺料 1 条"]
    assert "B" in sent(channel="wecom_robot")[1].text


def test_a_group_already_told_hears_again_no_sooner_than_its_group_interval(ops, staff_user):
    """Alertmanager's group_interval, under the threshold name kept from the single window."""
    set_threshold(key="group_window_s", value=120, user=staff_user)
    raise_alert(rule="stock_low", key="A", title="A", now=T0)
    assert dispatch_alert_notifications(now=T0 + timedelta(seconds=30))["messages"] == 2
    raise_alert(rule="stock_low", key="B", title="B", now=T0 + timedelta(seconds=40))
    # B's group_wait ended at 70 s, but the group was told at 30 s: not before 150 s.
    assert dispatch_alert_notifications(now=T0 + timedelta(seconds=149))["messages"] == 0
    assert dispatch_alert_notifications(now=T0 + timedelta(seconds=150))["messages"] == 2
    assert "B" in sent(channel="wecom_robot")[-1].text


def test_an_alert_still_firing_is_repeated_after_the_repeat_interval_but_not_once_acknowledged(ops, staff_user):
    alert = raise_alert(rule="stock_low", key="A", title="A", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    assert dispatch_alert_notifications(now=T0 + timedelta(hours=4))["messages"] == 0
    report = dispatch_alert_notifications(now=T0 + timedelta(hours=4, minutes=1))
    assert report["messages"] == 2
    repeat = sent(channel="wecom_robot")[-1]
    assert repeat.title == "【仍未恢复】缺料 1 条"
    assert AlertDelivery.objects.get(alert=alert, channel="wecom_robot").notify_count == 2

    acknowledge_alert(alert_id=alert.pk, user=staff_user, now=T0 + timedelta(hours=5))
    assert dispatch_alert_notifications(now=T0 + timedelta(hours=9))["messages"] == 0


def test_repeat_interval_is_a_runtime_threshold(ops, staff_user):
    set_threshold(key="repeat_interval_s", value=3600, user=staff_user)
    raise_alert(rule="stock_low", key="A", title="A", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    assert dispatch_alert_notifications(now=T0 + timedelta(minutes=61))["messages"] == 2


def test_whoever_heard_it_fire_hears_it_resolve_in_one_message(ops, staff_user):
    for key in ("A", "B", "C"):
        raise_alert(rule="stock_low", key=key, title=f"物料 {key} 缺料", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    evaluate_rule(rule="stock_low", firing=[Firing(key="C", title="物料 C 缺料")], now=T0 + timedelta(minutes=10))

    report = dispatch_alert_notifications(now=T0 + timedelta(minutes=11))
    assert report["resolved_messages"] == 2
    resolved = sent(channel="wecom_robot")[-1]
    assert resolved.title == "【已恢复】缺料 2 条"
    assert "物料 A 缺料（条件不再成立" in resolved.text
    assert dispatch_alert_notifications(now=T0 + timedelta(minutes=12))["resolved_messages"] == 0

    c = raise_alert(rule="stock_low", key="C", title="物料 C 缺料", now=T0)
    resolve_alert(alert_id=c.pk, user=staff_user, now=T0 + timedelta(minutes=13))
    dispatch_alert_notifications(now=T0 + timedelta(minutes=14))
    assert f"已由 {staff_user} 关闭" in sent(channel="wecom_robot")[-1].text


def test_an_alert_resolved_before_anyone_was_told_sends_nothing(ops):
    raise_alert(rule="stock_low", key="A", title="A", now=T0)
    evaluate_rule(rule="stock_low", firing=[], now=T0 + timedelta(seconds=20))
    dispatch_alert_notifications(now=T0 + timedelta(minutes=2))
    assert not Notification.objects.exists()


def test_a_silenced_alert_is_not_sent_and_is_sent_after_the_silence_ends(ops):
    raise_alert(rule="stock_low", key="A", title="A", labels={"project": "P1"}, now=T0)
    create_silence(
        matchers=[{"name": "project", "op": "=", "value": "P1"}],
        ends_at=T0 + timedelta(hours=1),
        comment="盘点",
        now=T0,
    )
    report = dispatch_alert_notifications(now=T0 + timedelta(minutes=5))
    assert (report["messages"], report["silenced"]) == (0, 1)
    assert dispatch_alert_notifications(now=T0 + timedelta(hours=1))["messages"] == 2


def test_an_inhibited_alert_is_held_then_sent_only_when_confirmed_on_fresh_data(ops, declare_rule, declare_job):
    declare_job(lambda: {}, id="probe_orders_job", reads=["sync_salesorder"])
    declare_rule(id="probe_day_failed", stale_tables_while_firing=lambda: ["sync_salesorder"], inhibit_equal=["date"])
    declare_rule(id="probe_order_late", name="订单延期", job="probe_orders_job")
    Route.objects.filter(pk=ops.pk).update(rules=["stock_low", "probe_order_late"])
    day = {"date": "2026-03-01"}
    raise_alert(rule="probe_day_failed", key="2026-03-01", title="同步失败", labels=day, now=T0)
    raise_alert(rule="probe_order_late", key="SO-1", title="SO-1 延期", labels=day, now=T0)

    report = dispatch_alert_notifications(now=T0 + timedelta(minutes=5))
    assert (report["messages"], report["held"]) == (0, 1)
    evaluate_rule(rule="probe_day_failed", firing=[], now=T0 + timedelta(minutes=10))
    assert dispatch_alert_notifications(now=T0 + timedelta(minutes=11))["held"] == 1
    evaluate_rule(
        rule="probe_order_late",
        firing=[Firing(key="SO-1", title="SO-1 延期", labels=day)],
        now=T0 + timedelta(minutes=12),
    )
    assert dispatch_alert_notifications(now=T0 + timedelta(minutes=13))["messages"] == 2


def test_a_rerun_of_the_same_pass_sends_nothing_twice(ops):
    raise_alert(rule="stock_low", key="A", title="A", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    assert Notification.objects.count() == 2


# --- Routes --------------------------------------------------------------------------------------


def test_route_tree_first_match_children_and_continue(declare_rule):
    declare_rule(id="stock_low", name="stock_low", severity="warning")
    a = Contact.objects.create(name="A", email="a@example.com")
    b = Contact.objects.create(name="B", email="b@example.com")
    c = Contact.objects.create(name="C", email="c@example.com")
    top = Route.objects.create(name="缺料", rules=["stock_low"], channels=["email"], position=1)
    top.contacts.add(a)
    child = Route.objects.create(name="P1 缺料", parent=top, labels={"project": "P1"}, channels=["email"])
    child.contacts.add(b)
    everything = Route.objects.create(name="全部", channels=["email"], position=2)
    everything.contacts.add(c)

    raise_alert(rule="stock_low", key="1", title="1", labels={"project": "P1"}, now=T0)
    raise_alert(rule="stock_low", key="2", title="2", labels={"project": "P2"}, now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    assert sorted(n.address for n in sent()) == ["a@example.com", "b@example.com"]

    Route.objects.filter(pk=top.pk).update(continue_matching=True)
    raise_alert(rule="stock_low", key="3", title="3", labels={"project": "P1"}, now=T0 + timedelta(minutes=2))
    dispatch_alert_notifications(now=T0 + timedelta(minutes=3))
    # With `continue`, the catch-all route also gets every open alert, which it had not heard of.
    assert sorted((n.address, n.title) for n in sent()[2:]) == [
        ("b@example.com", "【警告】项目 P1：stock_low 1 条"),
        ("c@example.com", "【警告】项目 P1：stock_low 2 条"),
        ("c@example.com", "【警告】项目 P2：stock_low 1 条"),
    ]


def test_without_a_matching_route_the_default_receivers_get_it(declare_rule, settings, django_user_model):
    settings.ALERT_DEFAULT_ROBOT_KEY = "yunqiao-sandbox-robot"
    settings.ALERT_DEFAULT_EMAIL = "admin"
    django_user_model.objects.create_superuser("boss", email="boss@example.com", password="x")
    declare_rule(id="stock_low")
    raise_alert(rule="stock_low", key="1", title="1", now=T0)
    dispatch_alert_notifications(now=T0 + timedelta(minutes=1))
    assert sorted((n.channel, n.address) for n in sent()) == [
        ("email", "boss@example.com"),
        ("wecom_robot", "yunqiao-sandbox-robot"),
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"wecom_robot_key": "https://qyapi.weixin.qq.com/x"}, "wecom_robot_key"),
        ({}, "__all__"),
    ],
)
def test_contacts_are_validated(fields, field):
    with pytest.raises(ValidationError) as refused:
        Contact(name="x", **fields).full_clean()
    assert field in refused.value.message_dict


def test_an_escalation_chain_cannot_loop():
    a = Contact.objects.create(name="A", email="a@example.com")
    b = Contact.objects.create(name="B", email="b@example.com", escalates_to=a)
    a.escalates_to = b
    with pytest.raises(ValidationError) as refused:
        a.full_clean()
    assert "escalates_to" in refused.value.message_dict


def test_two_passes_racing_send_a_group_once(ops):
    from alerts.alerting.dispatch import DispatchReport, GroupAlreadySent, _firing_groups, _send_firing

    alert = raise_alert(rule="stock_low", key="A", title="A", now=T0)
    now = T0 + timedelta(minutes=1)
    # Pass 1 has computed its groups when pass 2 sends them first.
    stale_groups, _next_repeat = _firing_groups(now, timedelta(hours=4), DispatchReport())
    dispatch_alert_notifications(now=now)
    for group in stale_groups:
        with pytest.raises(GroupAlreadySent):
            _send_firing(group, now)
    assert Notification.objects.count() == 2
    assert alert.events.filter(kind="notified").count() == 2

    # The same for a repeat: the delivery row is claimed by a conditional UPDATE.
    later = T0 + timedelta(hours=5)
    stale_groups, _next_repeat = _firing_groups(later, timedelta(hours=4), DispatchReport())
    dispatch_alert_notifications(now=later)
    for group in stale_groups:
        with pytest.raises(GroupAlreadySent):
            _send_firing(group, later)
    assert Notification.objects.count() == 4
