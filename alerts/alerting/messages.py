"""The Chinese text of alert messages: one message per group (receiver, rule, project), short,
with a link to the alert page and what to do."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from alerts.alerting.models import Alert, Severity
from alerts.alerting.rules import UnknownRule, get_rule

# A robot markdown message is limited to 4096 bytes: list this many alerts, then count the rest.
MAX_LISTED = 15


def in_site_language(func):
    """Messages and stored alert texts are in the site's language (LANGUAGE_CODE), whatever
    language the request or thread that triggers them happens to have active."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with translation.override(settings.LANGUAGE_CODE):
            return func(*args, **kwargs)

    return wrapper


def absolute_url(path: str) -> str:
    """A link people can open from a phone: ALERT_LINK_BASE_URL + the path."""
    return settings.ALERT_LINK_BASE_URL.rstrip("/") + path


def alerts_page_url(**filters) -> str:
    query = urlencode({name: value for name, value in filters.items() if value})
    return absolute_url(reverse("alerts-page")) + (f"?{query}" if query else "")


def _rule_name_and_advice(rule_id: str) -> tuple[str, str]:
    try:
        rule = get_rule(rule_id)
    except UnknownRule:
        return rule_id, ""
    return rule.name, rule.advice


def _when(value) -> str:
    return timezone.localtime(value).strftime("%m-%d %H:%M")


def _listing(alerts: list[Alert]) -> list[str]:
    lines = [f"· {alert.title}（{_when(alert.starts_at)}）" for alert in alerts[:MAX_LISTED]]
    if len(alerts) > MAX_LISTED:
        lines.append(_("……另有 %(count)s 条，见预警页面") % {"count": len(alerts) - MAX_LISTED})
    return lines


def _heading(rule_id: str, project: str, count: int) -> str:
    name, _advice = _rule_name_and_advice(rule_id)
    where = _("项目 %(project)s：") % {"project": project} if project else ""
    return _("%(where)s%(rule)s %(count)s 条") % {"where": where, "rule": name, "count": count}


@in_site_language
def firing_message(*, rule_id: str, project: str, alerts: list[Alert], repeat: bool) -> tuple[str, str, str]:
    """(title, text, link) of a message telling that these alerts fire."""
    worst = max(alerts, key=lambda alert: list(Severity.values).index(alert.severity))
    prefix = _("仍未恢复") if repeat else Severity(worst.severity).label
    title = f"【{prefix}】{_heading(rule_id, project, len(alerts))}"
    _name, advice = _rule_name_and_advice(rule_id)
    lines = _listing(alerts)
    if advice:
        lines.append(_("处理：%(advice)s") % {"advice": advice})
    lines.append(_("确认或关闭请打开预警页面"))
    return title, "\n".join(lines), alerts_page_url(rule=rule_id, project=project)


@in_site_language
def resolved_message(*, rule_id: str, project: str, alerts: list[Alert]) -> tuple[str, str, str]:
    title = f"【{_('已恢复')}】{_heading(rule_id, project, len(alerts))}"
    lines = []
    for alert in alerts[:MAX_LISTED]:
        how = (
            _("已由 %(user)s 关闭") % {"user": alert.resolved_by}
            if alert.resolved_how == Alert.ResolvedHow.STAFF
            else _("条件不再成立")
        )
        lines.append(f"· {alert.title}（{how}，{_when(alert.resolved_at)}）")
    if len(alerts) > MAX_LISTED:
        lines.append(_("……另有 %(count)s 条") % {"count": len(alerts) - MAX_LISTED})
    lines.append(_("无需处理"))
    return title, "\n".join(lines), alerts_page_url(rule=rule_id, project=project, state="resolved")


@in_site_language
def escalation_message(*, alert: Alert, level: int, told: list[str], now) -> tuple[str, str, str]:
    minutes = int((now - alert.starts_at).total_seconds() // 60)
    title = _("【升级】%(title)s") % {"title": alert.title}
    _name, advice = _rule_name_and_advice(alert.rule)
    lines = [
        _("这条%(severity)s预警已 %(minutes)s 分钟无人确认，升级到第 %(level)s 级。")
        % {"severity": Severity(alert.severity).label, "minutes": minutes, "level": level},
        _("现通知：%(names)s") % {"names": "、".join(told)},
    ]
    if alert.detail:
        lines.append(alert.detail[:500])
    if advice:
        lines.append(_("处理：%(advice)s") % {"advice": advice})
    lines.append(_("请打开预警页面确认"))
    return title, "\n".join(lines), alerts_page_url(alert=alert.pk)
