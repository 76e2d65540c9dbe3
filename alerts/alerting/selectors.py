"""Read-side queries of alerting, shared by the page, the API, the admin and Prometheus."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting.models import OPEN_STATUSES, Alert, AlertStatus, Severity
from alerts.alerting.rules import UnknownRule, get_rule
from alerts.alerting.suppression import active_silences, holds, silencing

STATES = ("open", "firing", "acknowledged", "resolved", "all")


class InvalidFilter(ValueError):
    """A filter value the list cannot apply; the message says which (in the user's language)."""


def alert_list(
    *, state: str = "open", rule: str = "", severity: str = "", project: str = "", labels: list[str] = ()
) -> QuerySet[Alert]:
    """Alerts by state (open = firing or acknowledged), rule, severity, project and `name=value` labels."""
    alerts = Alert.objects.select_related("acknowledged_by", "resolved_by")
    if state not in STATES:
        raise InvalidFilter(_("未知状态：%(state)s（可用 %(states)s）") % {"state": state, "states": "、".join(STATES)})
    if state == "open":
        alerts = alerts.filter(status__in=OPEN_STATUSES)
    elif state != "all":
        alerts = alerts.filter(status=state)
    if severity:
        if severity not in Severity.values:
            raise InvalidFilter(_("级别只能是 info、warning、critical"))
        alerts = alerts.filter(severity=severity)
    if rule:
        alerts = alerts.filter(rule=rule)
    if project:
        alerts = alerts.filter(project=project)
    for label in labels:
        name, sep, value = label.partition("=")
        if not sep or not name:
            raise InvalidFilter(_("标签筛选须写成 名称=值：%(label)s") % {"label": label})
        alerts = alerts.filter(**{f"labels__{name}": value})
    return alerts.order_by("-starts_at", "-id")


def with_suppression(alerts: list[Alert], now: datetime | None = None) -> list[Alert]:
    """Set `silenced_by` (a Silence or None) and `held_by` (a Hold or None) on open alerts."""
    now = now or timezone.now()
    silences = active_silences(now)
    open_alerts = [alert for alert in alerts if alert.status in OPEN_STATUSES]
    held = holds(open_alerts) if open_alerts else {}
    for alert in alerts:
        alert.silenced_by = silencing(alert, silences) if alert.status in OPEN_STATUSES else None
        alert.held_by = held.get(alert.pk)
    return alerts


def rule_name(rule_id: str) -> str:
    try:
        return str(get_rule(rule_id).name)
    except UnknownRule:
        return rule_id


def grouped_by_rule_and_project(alerts: list[Alert]) -> list[dict]:
    """[{rule, rule_name, project, alerts}] in the order of each group's newest alert."""
    groups: dict[tuple[str, str], dict] = {}
    for alert in alerts:
        group = groups.setdefault(
            (alert.rule, alert.project),
            {"rule": alert.rule, "rule_name": rule_name(alert.rule), "project": alert.project, "alerts": []},
        )
        group["alerts"].append(alert)
    return list(groups.values())


def alerts_per_day(*, days: int = 14, today: date | None = None) -> list[dict]:
    """Alerts started per day and category over the last `days` days, oldest first."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    rows = (
        Alert.objects.filter(starts_at__date__gte=start)
        .annotate(day=TruncDate("starts_at"))
        .values("day", "category")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        counts[row["day"]][row["category"]] = row["n"]
    return [
        {"day": start + timedelta(days=offset), "counts": counts.get(start + timedelta(days=offset), {})}
        for offset in range(days)
    ]


def open_alert_counts() -> list[tuple[str, str, int]]:
    """(rule, severity, count) of open alerts, for Prometheus."""
    rows = Alert.objects.filter(status__in=OPEN_STATUSES).values("rule", "severity").annotate(n=Count("pk"))
    return [(row["rule"], row["severity"], row["n"]) for row in rows.order_by("rule", "severity")]


def open_alerts_per_project(projects: list[str]) -> dict[str, dict]:
    """{project: {"open": n, "critical": m}} of open alerts labelled with these projects (one query)."""
    rows = (
        Alert.objects.filter(status__in=OPEN_STATUSES, project__in=projects)
        .values("project")
        .annotate(open=Count("pk"), critical=Count("pk", filter=Q(severity=Severity.CRITICAL)))
    )
    return {row["project"]: {"open": row["open"], "critical": row["critical"]} for row in rows}


def state_counts() -> dict[str, int]:
    counts = dict(Alert.objects.values_list("status").annotate(n=Count("pk")))
    return {state: counts.get(state, 0) for state in AlertStatus.values}
