"""Silences (matchers on rule and labels, start/end) and inhibition derived from the tables the
rules' jobs declare they read."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from alerts.alerting.lifecycle import Firing, evaluate_rule, raise_alert
from alerts.alerting.models import Silence
from alerts.alerting.rules import inhibitors_of
from alerts.alerting.suppression import (
    SilenceNotActive,
    active_silences,
    create_silence,
    expire_silence,
    holds,
    silencing,
)

from .conftest import T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock_rule(declare_rule):
    return declare_rule(id="stock_low", severity="warning")


def test_a_silence_matches_on_rule_and_labels_only_while_active(stock_rule, staff_user):
    p1 = raise_alert(rule="stock_low", key="A", title="A", labels={"project": "P1"}, now=T0)
    p2 = raise_alert(rule="stock_low", key="B", title="B", labels={"project": "P2"}, now=T0)
    silence = create_silence(
        matchers=[{"name": "rule", "op": "=", "value": "stock_low"}, {"name": "project", "op": "=~", "value": "P1|P9"}],
        starts_at=T0 + timedelta(minutes=10),
        ends_at=T0 + timedelta(hours=2),
        comment="P1 盘点中",
        user=staff_user,
        now=T0,
    )
    assert silencing(p1, active_silences(T0)) is None  # not started yet
    during = active_silences(T0 + timedelta(hours=1))
    assert silencing(p1, during) == silence
    assert silencing(p2, during) is None
    assert silencing(p1, active_silences(T0 + timedelta(hours=2))) is None  # ended


def test_negative_matchers_and_severity_label(stock_rule):
    alert = raise_alert(rule="stock_low", key="A", title="A", labels={"project": "P1"}, now=T0)
    silence = create_silence(
        matchers=[
            {"name": "rule", "op": "=~", "value": "stock_.*"},
            {"name": "severity", "op": "!=", "value": "critical"},
            {"name": "project", "op": "!~", "value": "P[2-9]"},
        ],
        ends_at=T0 + timedelta(hours=1),
        comment="只看严重",
        now=T0,
    )
    assert silencing(alert, [silence]) == silence


@pytest.mark.parametrize(
    ("matchers", "message"),
    [
        ([], "至少需要一个匹配条件"),
        ([{"name": "rule", "op": "==", "value": "x"}], "不支持的运算符"),
        ([{"name": "", "op": "=", "value": "x"}], "缺少标签名"),
        ([{"name": "rule", "op": "=~", "value": "("}], "正则表达式无效"),
        ([{"name": "project", "op": "!=", "value": "P1"}], "匹配条件过宽"),
        ("rule=x", "至少需要一个匹配条件"),
    ],
)
def test_bad_silences_are_refused_in_chinese_and_nothing_is_saved(matchers, message):
    with pytest.raises(ValidationError) as refused:
        create_silence(matchers=matchers, ends_at=T0 + timedelta(hours=1), comment="x", now=T0)
    assert message in " ".join(refused.value.messages)
    assert not Silence.objects.exists()


def test_a_silence_needs_a_reason_and_an_end_in_the_future():
    ok = [{"name": "rule", "op": "=", "value": "x"}]
    with pytest.raises(ValidationError):
        create_silence(matchers=ok, ends_at=T0 + timedelta(hours=1), comment="  ", now=T0)
    with pytest.raises(ValidationError):
        create_silence(matchers=ok, ends_at=T0 - timedelta(minutes=1), comment="x", now=T0)
    assert not Silence.objects.exists()


def test_expiring_a_silence_ends_it_now_and_twice_is_refused(stock_rule):
    silence = create_silence(
        matchers=[{"name": "rule", "op": "=", "value": "stock_low"}],
        ends_at=T0 + timedelta(days=1),
        comment="x",
        now=T0,
    )
    expire_silence(silence_id=silence.pk, now=T0 + timedelta(hours=1))
    silence.refresh_from_db()
    assert silence.ends_at == T0 + timedelta(hours=1)
    assert active_silences(T0 + timedelta(hours=1)) == []
    with pytest.raises(SilenceNotActive):
        expire_silence(silence_id=silence.pk, now=T0 + timedelta(hours=2))


# --- Inhibition ----------------------------------------------------------------------------------


@pytest.fixture
def erp_rules(declare_rule, declare_job):
    """A day-sync rule making `sync_salesorder` stale, and a rule whose job reads that table."""
    declare_job(lambda: {}, id="probe_orders_job", reads=["sync_salesorder", "projects"])
    declare_job(lambda: {}, id="probe_uploads_job", reads=["upload_history"])
    declare_rule(
        id="probe_day_failed",
        severity="critical",
        stale_tables_while_firing=lambda: ["sync_salesorder", "sync_purchaseorder"],
        inhibit_equal=["date"],
    )
    declare_rule(id="probe_order_late", job="probe_orders_job")
    declare_rule(id="probe_upload_stuck", job="probe_uploads_job")


def test_which_rules_inhibit_follows_from_the_tables_their_jobs_read(erp_rules):
    from alerts.alerting.rules import get_rule

    # The real day-sync rule too: `sync_yesterday` declares it writes sync_salesorder.
    assert [rule.id for rule in inhibitors_of(get_rule("probe_order_late"))] == ["probe_day_failed", "sync_day_failed"]
    assert inhibitors_of(get_rule("probe_upload_stuck")) == []
    assert inhibitors_of(get_rule("probe_day_failed")) == []


def test_an_alert_on_the_failed_days_data_is_held_and_released_only_when_seen_true_again(erp_rules):
    day = raise_alert(
        rule="probe_day_failed", key="2026-03-01", title="同步失败", labels={"date": "2026-03-01"}, now=T0
    )
    stale = raise_alert(rule="probe_order_late", key="SO-1", title="迟", labels={"date": "2026-03-01"}, now=T0)
    other_day = raise_alert(rule="probe_order_late", key="SO-2", title="迟", labels={"date": "2026-02-28"}, now=T0)
    unrelated = raise_alert(rule="probe_upload_stuck", key="U-1", title="卡", labels={"date": "2026-03-01"}, now=T0)

    held = holds([stale, other_day, unrelated])
    assert set(held) == {stale.pk}
    assert (held[stale.pk].source_alert_id, held[stale.pk].open) == (day.pk, True)

    # The sync recovers: the alert stays held until its rule, on fresh data, says it still holds.
    evaluate_rule(rule="probe_day_failed", firing=[], now=T0 + timedelta(minutes=30))
    stale.refresh_from_db()
    assert stale.pk in holds([stale])
    evaluate_rule(
        rule="probe_order_late",
        firing=[Firing(key="SO-1", title="迟", labels={"date": "2026-03-01"})],
        now=T0 + timedelta(minutes=31),
    )
    stale.refresh_from_db()
    assert holds([stale]) == {}


def test_an_alert_no_longer_true_after_the_sync_recovers_is_resolved_without_being_sent(erp_rules):
    raise_alert(rule="probe_day_failed", key="2026-03-01", title="同步失败", labels={"date": "2026-03-01"}, now=T0)
    stale = raise_alert(rule="probe_order_late", key="SO-1", title="迟", labels={"date": "2026-03-01"}, now=T0)
    evaluate_rule(rule="probe_day_failed", firing=[], now=T0 + timedelta(minutes=30))
    evaluate_rule(rule="probe_order_late", firing=[], now=T0 + timedelta(minutes=31))
    stale.refresh_from_db()
    assert stale.status == "resolved"
    assert not stale.deliveries.exists()
