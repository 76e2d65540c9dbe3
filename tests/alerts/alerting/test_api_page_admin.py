"""The alerts API, the /alerts/ page, the admin and the Prometheus series, as each kind of user."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone, translation

from alerts import prometheus
from alerts.alerting.dispatch import dispatch_alert_notifications
from alerts.alerting.lifecycle import raise_alert
from alerts.alerting.models import Alert, AlertThreshold, Contact, Route, Silence

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts(declare_rule, settings):
    settings.ALERT_DEFAULT_ROBOT_KEY = "yunqiao-sandbox-robot"
    settings.ALERT_DEFAULT_EMAIL = ""
    declare_rule(id="stock_low", name="缺料", severity="warning")
    declare_rule(id="line_down", name="停机", severity="critical")
    now = timezone.now()
    return {
        "a": raise_alert(rule="stock_low", key="A", title="<b>物料 A</b> 缺料", labels={"project": "P1"}, now=now),
        "b": raise_alert(rule="stock_low", key="B", title="物料 B 缺料", labels={"project": "P2"}, now=now),
        "c": raise_alert(rule="line_down", key="L1", title="1 号线停机", now=now),
    }


@pytest.mark.parametrize(
    "path", ["/api/v1/alerts/", "/api/v1/alerts/silences", "/api/v1/alerts/1", "/api/v1/alerts/1/acknowledge"]
)
def test_the_api_is_for_staff_only(anon_api, field_api, path):
    assert anon_api.get(path).status_code == 401
    assert field_api.get(path).status_code == 403


def test_list_filters_by_state_rule_severity_and_label(staff_api, alerts):
    def keys(query=""):
        return sorted(row["key"] for row in staff_api.get(f"/api/v1/alerts/{query}").json()["results"])

    assert keys() == ["A", "B", "L1"]
    assert keys("?rule=stock_low") == ["A", "B"]
    assert keys("?severity=critical") == ["L1"]
    assert keys("?label=project=P1") == ["A"]
    assert keys("?state=resolved") == []
    refused = staff_api.get("/api/v1/alerts/?state=bogus")
    assert refused.status_code == 400 and "未知状态" in refused.json()["message"]
    row = staff_api.get("/api/v1/alerts/?rule=line_down").json()["results"][0]
    assert (row["rule_name"], row["status"], row["silenced_by"], row["held_by"]) == ("停机", "firing", None, None)


def test_acknowledge_and_resolve_through_the_api_with_conflicts_in_chinese(staff_api, alerts, staff_user):
    alert = alerts["c"]
    answer = staff_api.post(f"/api/v1/alerts/{alert.pk}/acknowledge", {"comment": "在修"}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["acknowledged_by"]) == ("acknowledged", staff_user.username)
    again = staff_api.post(f"/api/v1/alerts/{alert.pk}/acknowledge", {}, format="json")
    assert again.status_code == 409 and again.json()["message"] == "只能确认告警中的预警"
    done = staff_api.post(f"/api/v1/alerts/{alert.pk}/resolve", {"comment": "修好了"}, format="json").json()
    assert [event["kind"] for event in done["events"]] == ["raised", "acknowledged", "resolved"]
    assert done["notifications"] == []
    assert staff_api.post("/api/v1/alerts/99999/resolve", {}, format="json").status_code == 404


def test_silences_are_created_listed_shown_on_alerts_and_ended(staff_api, alerts):
    ends = (timezone.now() + timedelta(hours=2)).isoformat()
    created = staff_api.post(
        "/api/v1/alerts/silences",
        {"matchers": [{"name": "project", "op": "=", "value": "P1"}], "ends_at": ends, "comment": "盘点"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    silence_id = created.json()["id"]
    assert created.json()["active"] is True
    rows = {row["key"]: row for row in staff_api.get("/api/v1/alerts/").json()["results"]}
    assert (rows["A"]["silenced_by"], rows["B"]["silenced_by"]) == (silence_id, None)

    assert staff_api.delete(f"/api/v1/alerts/silences/{silence_id}").status_code == 204
    assert staff_api.delete(f"/api/v1/alerts/silences/{silence_id}").status_code == 409
    assert staff_api.delete("/api/v1/alerts/silences/99999").status_code == 404
    assert staff_api.get("/api/v1/alerts/silences").json()["results"][0]["active"] is False


def test_a_bad_silence_is_refused_with_a_chinese_message_and_not_saved(staff_api):
    answer = staff_api.post(
        "/api/v1/alerts/silences",
        {
            "matchers": [{"name": "rule", "op": "~", "value": "x"}],
            "ends_at": timezone.now().isoformat(),
            "comment": "x",
        },
        format="json",
    )
    assert answer.status_code == 400
    assert "不支持的运算符" in answer.json()["message"]
    assert not Silence.objects.exists()


def test_the_page_groups_by_rule_and_project_and_escapes_alert_text(client, staff_user, alerts):
    client.force_login(staff_user)
    page = client.get("/alerts/").content.decode()
    assert "项目 P1：缺料" in page and "项目 P2：缺料" in page and "停机" in page
    assert "&lt;b&gt;物料 A&lt;/b&gt; 缺料" in page and "<b>物料 A</b>" not in page
    assert "时间线" in page and 'name="viewport"' in page
    # The link of an escalation message shows that one alert.
    one = client.get(f"/alerts/?alert={alerts['c'].pk}").content.decode()
    assert "1 号线停机" in one and "物料 B 缺料" not in one


def test_the_page_is_for_staff_only(client, field_user):
    assert client.get("/alerts/").status_code == 302  # to the login page
    client.force_login(field_user)
    assert client.get("/alerts/").status_code == 403


def test_page_buttons_acknowledge_resolve_and_silence(client, staff_user, alerts):
    client.force_login(staff_user)
    a, c = alerts["a"], alerts["c"]
    client.post(f"/alerts/{c.pk}/acknowledge", {"comment": "我来", "next": "/alerts/"})
    client.post(f"/alerts/{a.pk}/resolve", {"next": "https://evil.example/"})
    answer = client.post("/alerts/silence", {"rule": "stock_low", "project": "P2", "hours": "4", "comment": "盘点"})
    assert answer.status_code == 302 and answer.url == "/alerts/"
    c.refresh_from_db()
    a.refresh_from_db()
    assert (c.status, c.acknowledge_comment, a.status) == ("acknowledged", "我来", "resolved")
    assert Silence.objects.get().matchers == [
        {"name": "rule", "op": "=", "value": "stock_low"},
        {"name": "project", "op": "=", "value": "P2"},
    ]
    refused = client.post("/alerts/silence", {"rule": "stock_low", "hours": "4", "comment": ""}, follow=True)
    assert "请填写静默原因" in refused.content.decode()
    assert Silence.objects.count() == 1


def test_page_shows_notifications_with_their_delivery_state(client, staff_user, staff_api, alerts):
    dispatch_alert_notifications(now=timezone.now() + timedelta(minutes=2))
    client.force_login(staff_user)
    page = client.get("/alerts/").content.decode()
    assert "【严重】停机 1 条" in page and "待发送" in page
    # The alert's detail in the API lists the messages sent about it, robot key masked.
    detail = staff_api.get(f"/api/v1/alerts/{alerts['c'].pk}").json()
    [told] = detail["notifications"]
    assert (told["channel"], told["title"], told["status"]) == ("wecom_robot", "【严重】停机 1 条", "pending")
    assert told["address"] != "yunqiao-sandbox-robot"


def test_prometheus_counts_open_alerts_by_rule_and_severity(alerts):
    text = prometheus.exposition().decode()
    assert 'yunqiao_alerts_open{rule="stock_low",severity="warning"} 2.0' in text
    assert 'yunqiao_alerts_open{rule="line_down",severity="critical"} 1.0' in text
    assert 'yunqiao_alerts_open{rule="upload_failed",severity="warning"} 0.0' in text


def test_admin_pages_open_and_refuse_bad_routes_thresholds_and_contacts(admin_client, alerts):
    for model in ("alert", "silence", "contact", "route", "alertthreshold"):
        assert admin_client.get(f"/admin/alerts/{model}/").status_code == 200
        if model != "alert":
            assert admin_client.get(f"/admin/alerts/{model}/add/").status_code == 200
    assert admin_client.get(f"/admin/alerts/alert/{alerts['a'].pk}/change/").status_code == 200

    contact = Contact.objects.create(name="运维群", wecom_robot_key="ops-robot-key-1")
    answer = admin_client.post(
        "/admin/alerts/route/add/",
        {
            "name": "坏路由",
            "position": 0,
            "rules": '["no_such_rule"]',
            "severities": '["fatal"]',
            "categories": "[]",
            "labels": "{}",
            "channels": '["sms"]',
            "contacts": [contact.pk],
            "is_active": "on",
        },
    )
    body = answer.content.decode()
    assert answer.status_code == 200 and "规则须为已声明的规则标识列表" in body and "级别只能是" in body
    assert "以下联系人在所选渠道上没有联系方式：运维群" in body
    assert not Route.objects.exists()

    answer = admin_client.post("/admin/alerts/alertthreshold/add/", {"key": "token_failing_minutes", "value": "0"})
    assert "取值范围为 1 到 1440 分钟" in answer.content.decode()
    assert not AlertThreshold.objects.exists()
    admin_client.post("/admin/alerts/alertthreshold/add/", {"key": "token_failing_minutes", "value": "30"})
    assert AlertThreshold.objects.get().value == 30

    admin_client.post(
        "/admin/alerts/contact/add/", {"name": "小王", "kind": "person", "phone": "123", "is_active": "on"}
    )
    assert not Contact.objects.filter(name="小王").exists()


def test_admin_actions_acknowledge_through_the_service(admin_client, alerts):
    alert = alerts["c"]
    admin_client.post("/admin/alerts/alert/", {"action": "acknowledge", "_selected_action": [alert.pk]}, follow=True)
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    assert alert.events.filter(kind="acknowledged").exists()
    assert Alert.objects.filter(status="firing").count() == 2


@pytest.fixture
def site_language_restored():
    yield
    translation.activate(settings.LANGUAGE_CODE)  # requests leave their language active in the thread


def test_the_page_and_api_errors_speak_english_when_asked(
    client, staff_user, staff_api, alerts, site_language_restored
):
    client.force_login(staff_user)
    page = client.get("/alerts/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Acknowledge" in page and "Silence this group" in page
    refused = staff_api.get("/api/v1/alerts/?severity=fatal", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.json()["message"] == "Severity must be info, warning or critical"


def test_messages_are_written_in_the_site_language_whatever_language_is_active(alerts, site_language_restored):
    """A staff member browsing in English must not turn the next messages English (the thread's
    active language leaked into message rendering)."""
    from alerts.outbox import Notification

    translation.activate("en")
    dispatch_alert_notifications(now=timezone.now() + timedelta(minutes=2))
    assert sorted(Notification.objects.values_list("title", flat=True)) == [
        "【严重】停机 1 条",
        "【警告】项目 P1：缺料 1 条",
        "【警告】项目 P2：缺料 1 条",
    ]


def test_admin_creates_a_valid_route_and_silence(admin_client, alerts):
    contact = Contact.objects.create(name="采购小王", email="wang@example.com")
    admin_client.post(
        "/admin/alerts/route/add/",
        {
            "name": "缺料给采购",
            "position": 0,
            "rules": '["stock_low"]',
            "severities": '["warning"]',
            "categories": "[]",
            "labels": '{"project": "P1"}',
            "channels": '["email"]',
            "contacts": [contact.pk],
            "is_active": "on",
        },
    )
    route = Route.objects.get()
    assert (route.rules, route.labels, list(route.contacts.all())) == (["stock_low"], {"project": "P1"}, [contact])

    ends = timezone.localtime(timezone.now() + timedelta(hours=2))
    admin_client.post(
        "/admin/alerts/silence/add/",
        {
            "matchers": '[{"name": "rule", "value": "stock_low"}]',
            "starts_at_0": timezone.localtime().strftime("%Y-%m-%d"),
            "starts_at_1": timezone.localtime().strftime("%H:%M:%S"),
            "ends_at_0": ends.strftime("%Y-%m-%d"),
            "ends_at_1": ends.strftime("%H:%M:%S"),
            "comment": "盘点",
        },
    )
    assert Silence.objects.get().matchers == [{"name": "rule", "op": "=", "value": "stock_low"}]


def test_the_chart_gives_each_category_one_colour_on_every_day(client, staff_user, declare_rule):
    """A day with only 检查 alerts drew them in 预警's colour (colours followed the bar's position)."""
    declare_rule(id="probe_check", category="检查")
    raise_alert(rule="probe_check", key="1", title="巡检", now=timezone.now())
    client.force_login(staff_user)
    page = client.get("/alerts/").content.decode()
    assert 'class="bar category-2"' in page and 'class="bar category-1"' not in page
    assert '<span class="swatch category-2"></span>检查' in page


def test_home_links_the_alerts_page_for_staff_only(client, staff_user, field_user):
    client.force_login(field_user)
    assert "/alerts/" not in client.get("/home/").content.decode()
    client.force_login(staff_user)
    assert 'href="/alerts/"' in client.get("/home/").content.decode()
