"""Raise with dedupe, auto-resolve from the full key set, acknowledge, resolve, and the timeline."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from alerts.alerting.lifecycle import (
    Firing,
    IllegalAlertTransition,
    acknowledge_alert,
    evaluate_rule,
    raise_alert,
    resolve_alert,
)
from alerts.alerting.models import Alert, AlertEvent, AlertStatus
from alerts.alerting.rules import UnknownRule

from .conftest import T0

pytestmark = pytest.mark.django_db


def kinds(alert):
    return list(alert.events.values_list("kind", flat=True))


def test_raising_the_same_key_again_keeps_one_open_alert_and_counts_it(declare_rule):
    declare_rule(id="stock_low", severity="critical")
    first = raise_alert(rule="stock_low", key="M-001", title="物料 M-001 库存不足", labels={"project": "P1"}, now=T0)
    again = raise_alert(rule="stock_low", key="M-001", title="物料 M-001 库存仍不足", now=T0 + timedelta(minutes=5))

    assert again.pk == first.pk
    assert Alert.objects.count() == 1
    assert (again.occurrences, again.last_seen_at, again.starts_at) == (2, T0 + timedelta(minutes=5), T0)
    assert again.title == "物料 M-001 库存仍不足"
    assert (again.severity, again.category, again.status) == ("critical", "预警", AlertStatus.FIRING)
    assert kinds(again) == ["raised"]


def test_the_database_refuses_a_second_open_alert_for_one_fingerprint(declare_rule):
    declare_rule(id="stock_low")
    raise_alert(rule="stock_low", key="M-001", title="t", now=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(rule="stock_low", key="M-001", severity="warning", category="预警", title="t")


def test_an_unknown_rule_is_refused_and_nothing_is_written():
    with pytest.raises(UnknownRule):
        raise_alert(rule="no_such_rule", key="k", title="t", now=T0)
    assert not Alert.objects.exists()


def test_evaluation_raises_new_keys_refreshes_known_ones_and_resolves_the_rest(declare_rule):
    declare_rule(id="stock_low")
    evaluate_rule(rule="stock_low", firing=[Firing(key=k, title=f"{k} 缺料") for k in ("A", "B", "C")], now=T0)

    later = T0 + timedelta(hours=1)
    result = evaluate_rule(
        rule="stock_low",
        firing=[Firing(key="B", title="B 缺料"), Firing(key="C", title="C 缺料 2 件"), Firing(key="D", title="D 缺料")],
        now=later,
    )

    assert result.as_dict() == {"raised": 1, "refreshed": 2, "resolved": 1}
    by_key = {alert.key: alert for alert in Alert.objects.all()}
    assert by_key["A"].status == AlertStatus.RESOLVED
    assert (by_key["A"].resolved_at, by_key["A"].resolved_how) == (later, "auto")
    assert kinds(by_key["A"]) == ["raised", "auto_resolved"]
    assert (by_key["B"].occurrences, by_key["B"].last_seen_at, by_key["B"].status) == (2, later, "firing")
    assert by_key["C"].title == "C 缺料 2 件"
    assert (by_key["D"].starts_at, kinds(by_key["D"])) == (later, ["raised"])


def test_evaluation_of_another_rule_leaves_this_rules_alerts_alone(declare_rule):
    declare_rule(id="stock_low")
    declare_rule(id="order_late")
    evaluate_rule(rule="stock_low", firing=[Firing(key="A", title="A")], now=T0)
    evaluate_rule(rule="order_late", firing=[], now=T0)
    assert Alert.objects.get(rule="stock_low").status == AlertStatus.FIRING


def test_a_key_true_again_after_resolving_opens_a_new_alert(declare_rule):
    declare_rule(id="stock_low")
    evaluate_rule(rule="stock_low", firing=[Firing(key="A", title="A")], now=T0)
    evaluate_rule(rule="stock_low", firing=[], now=T0 + timedelta(hours=1))
    evaluate_rule(rule="stock_low", firing=[Firing(key="A", title="A")], now=T0 + timedelta(hours=2))
    assert list(Alert.objects.order_by("pk").values_list("status", flat=True)) == ["resolved", "firing"]


def test_acknowledge_then_resolve_by_staff_keeps_who_when_and_why(declare_rule, staff_user):
    declare_rule(id="stock_low")
    alert = raise_alert(rule="stock_low", key="A", title="A", now=T0)

    acknowledge_alert(alert_id=alert.pk, user=staff_user, comment="我来处理", now=T0 + timedelta(minutes=3))
    resolved = resolve_alert(alert_id=alert.pk, user=staff_user, comment="已补货", now=T0 + timedelta(minutes=30))

    assert resolved.status == AlertStatus.RESOLVED
    assert (resolved.acknowledged_by, resolved.acknowledge_comment) == (staff_user, "我来处理")
    assert (resolved.resolved_by, resolved.resolved_how) == (staff_user, "staff")
    events = list(resolved.events.values_list("kind", "actor", "message"))
    assert events == [
        ("raised", None, "A"),
        ("acknowledged", staff_user.pk, "我来处理"),
        ("resolved", staff_user.pk, "已补货"),
    ]


def test_illegal_transitions_are_refused_and_change_nothing(declare_rule, staff_user):
    declare_rule(id="stock_low")
    alert = raise_alert(rule="stock_low", key="A", title="A", now=T0)
    acknowledge_alert(alert_id=alert.pk, user=staff_user, now=T0)
    with pytest.raises(IllegalAlertTransition):
        acknowledge_alert(alert_id=alert.pk, user=staff_user, now=T0)
    resolve_alert(alert_id=alert.pk, user=staff_user, now=T0)
    with pytest.raises(IllegalAlertTransition):
        resolve_alert(alert_id=alert.pk, user=staff_user, now=T0)
    with pytest.raises(IllegalAlertTransition):
        acknowledge_alert(alert_id=alert.pk, user=staff_user, now=T0)
    assert AlertEvent.objects.filter(alert=alert).count() == 3


def test_auto_resolve_also_closes_acknowledged_alerts(declare_rule, staff_user):
    declare_rule(id="stock_low")
    alert = raise_alert(rule="stock_low", key="A", title="A", now=T0)
    acknowledge_alert(alert_id=alert.pk, user=staff_user, now=T0)
    evaluate_rule(rule="stock_low", firing=[], now=T0 + timedelta(minutes=1))
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_how) == ("resolved", "auto")


def test_a_large_evaluation_uses_a_bounded_number_of_queries(declare_rule, django_assert_max_num_queries):
    declare_rule(id="stock_low")
    evaluate_rule(rule="stock_low", firing=[Firing(key=str(n), title=str(n)) for n in range(1200)], now=T0)
    firing = [Firing(key=str(n), title=str(n)) for n in range(100, 1300)]
    with django_assert_max_num_queries(40):
        result = evaluate_rule(rule="stock_low", firing=firing, now=T0 + timedelta(minutes=1))
    assert result.as_dict() == {"raised": 100, "refreshed": 1100, "resolved": 100}


def test_raised_again_with_another_severity_the_alert_takes_it_and_its_timeline_says_so(declare_rule):
    declare_rule(id="stock_low", name="缺料", severity="warning")
    evaluate_rule(rule="stock_low", firing=[Firing(key="M-1", title="缺料")], now=T0)
    evaluate_rule(
        rule="stock_low", firing=[Firing(key="M-1", title="缺料", severity="critical")], now=T0 + timedelta(minutes=1)
    )
    alert = Alert.objects.get(key="M-1")
    assert (alert.severity, alert.occurrences) == ("critical", 2)
    [event] = alert.events.filter(kind="severity_changed")
    assert event.data == {"from": "warning", "to": "critical"} and event.message == "级别由警告改为严重"

    raise_alert(rule="stock_low", key="M-1", title="缺料", now=T0 + timedelta(minutes=2))  # the rule's own
    alert.refresh_from_db()
    assert alert.severity == "warning" and alert.events.filter(kind="severity_changed").count() == 2
    # Raised again with the same severity: no event.
    evaluate_rule(rule="stock_low", firing=[Firing(key="M-1", title="缺料")], now=T0 + timedelta(minutes=3))
    assert alert.events.filter(kind="severity_changed").count() == 2


def test_a_first_evaluation_of_many_keys_stores_each_alert_whole_in_a_fixed_number_of_queries(declare_rule):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    declare_rule(id="delivery_late", name="到货延迟", severity="warning", category="检查")

    def firing(count, prefix):
        return [
            Firing(
                key=f"{prefix}-{n}",
                title=f"采购订单 {prefix}-{n} 到货延迟",
                detail=f"已到 {n % 7} / 应到 10",
                labels={"vendor": f"V{n % 3}", "project": f"P{n % 2}", "empty": ""},
                link=f"/admin/po/?q={prefix}-{n}",
                severity="critical" if n % 2 else None,
            )
            for n in range(count)
        ]

    counts = []
    for count, prefix, at in ((30, "S", T0), (1500, "L", T0 + timedelta(minutes=1))):
        with CaptureQueriesContext(connection) as queries:
            result = evaluate_rule(rule="delivery_late", firing=firing(count, prefix) + firing(30, "S"), now=at)
        counts.append(len(queries))
    assert result.as_dict() == {"raised": 1500, "refreshed": 30, "resolved": 0}
    assert counts[1] <= counts[0] + 4  # the refresh of the 30 known keys; not one more per 500 new ones

    assert sorted(result.raised) == sorted(Alert.objects.filter(key__startswith="L-").values_list("pk", flat=True))
    alert = Alert.objects.get(key="L-7")
    assert (alert.rule, alert.category, alert.severity, alert.status) == ("delivery_late", "检查", "critical", "firing")
    assert (alert.title, alert.detail, alert.link) == ("采购订单 L-7 到货延迟", "已到 0 / 应到 10", "/admin/po/?q=L-7")
    assert (alert.labels, alert.project) == ({"vendor": "V1", "project": "P1"}, "P1")
    assert (alert.starts_at, alert.last_seen_at, alert.occurrences) == (T0 + timedelta(minutes=1),) * 2 + (1,)
    assert (alert.escalation_level, alert.resolved_how, alert.acknowledged_at) == (0, "", None)
    assert Alert.objects.get(key="L-8").severity == "warning"  # the rule's own
    assert Alert.objects.filter(labels__vendor="V2", key__startswith="L-").count() == 500
    [event] = alert.events.all()
    assert (event.kind, event.at, event.message, event.data, event.actor) == ("raised", alert.starts_at, "", {}, None)
    assert AlertEvent.objects.filter(kind="raised").count() == Alert.objects.count() == 1530


def test_a_key_another_worker_opened_meanwhile_stays_that_workers_alert(declare_rule):
    from alerts.alerting.lifecycle import _insert_new
    from alerts.alerting.rules import get_rule

    declare_rule(id="stock_low")
    # Between this evaluation reading the open alerts and inserting, another worker opened "A"
    # (at the very same instant, the hardest case for telling its row from ours).
    theirs = raise_alert(rule="stock_low", key="A", title="A（另一进程）", now=T0)

    ids = _insert_new(get_rule("stock_low"), [Firing(key="A", title="A"), Firing(key="B", title="B")], T0)

    ours = Alert.objects.get(key="B")
    assert ids == [ours.pk]
    assert Alert.objects.get(key="A") == theirs  # one open alert for the fingerprint, theirs
    assert kinds(theirs) == ["raised"] and kinds(ours) == ["raised"]
