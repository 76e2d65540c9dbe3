"""The staff alerts page (`/alerts/`): open alerts grouped by rule and project, their timelines,
acknowledge / resolve / silence buttons, alerts per day, and the latest notifications. Actions
post plain forms (works on any phone browser) and call the same services as the API."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from alerts import registry
from alerts.alerting import lifecycle, selectors, suppression
from alerts.alerting.models import AlertEvent, Severity
from alerts.alerting.rules import all_rules
from alerts.models import Notification
from config.permissions import is_staff_member

PAGE_ALERTS = 300
SILENCE_HOURS = (1, 4, 24, 72)


def _category_colour(category: str) -> int:
    """The same colour for a category on every day of the chart (and in its legend)."""
    return registry.CATEGORIES.index(category) + 1 if category in registry.CATEGORIES else len(registry.CATEGORIES)


def _staff_only(request):
    if not is_staff_member(request.user):
        raise PermissionDenied


@login_required
@require_safe
def alerts_page(request):
    _staff_only(request)
    filters = {
        "state": request.GET.get("state", "open"),
        "severity": request.GET.get("severity", ""),
        "rule": request.GET.get("rule", ""),
        "project": request.GET.get("project", ""),
    }
    try:
        alerts = selectors.alert_list(**filters)
    except selectors.InvalidFilter as exc:
        messages.error(request, str(exc))
        filters = {"state": "open", "severity": "", "rule": "", "project": ""}
        alerts = selectors.alert_list(**filters)
    if request.GET.get("alert", "").isdigit():
        alerts = selectors.alert_list(state="all").filter(pk=int(request.GET["alert"]))
    events = AlertEvent.objects.select_related("actor").order_by("at", "id")
    page = list(alerts.prefetch_related(Prefetch("events", queryset=events))[:PAGE_ALERTS])
    selectors.with_suppression(page)
    days = selectors.alerts_per_day()
    most = max((sum(day["counts"].values()) for day in days), default=0) or 1
    return render(
        request,
        "alerts/alerts.html",
        {
            "filters": filters,
            "groups": selectors.grouped_by_rule_and_project(page),
            "truncated": len(page) == PAGE_ALERTS,
            "rules": all_rules(),
            "severities": Severity.choices,
            "states": [
                ("open", _("未恢复")),
                ("firing", _("告警中")),
                ("acknowledged", _("已确认")),
                ("resolved", _("已恢复")),
                ("all", _("全部")),
            ],
            "days": [
                {
                    "day": day["day"],
                    "total": sum(day["counts"].values()),
                    "bars": [
                        {
                            "category": category,
                            "colour": _category_colour(category),
                            "count": count,
                            "percent": round(100 * count / most),
                        }
                        for category, count in sorted(day["counts"].items(), key=lambda item: _category_colour(item[0]))
                    ],
                }
                for day in days
            ],
            "categories": [(category, _category_colour(category)) for category in registry.CATEGORIES],
            "notifications": Notification.objects.order_by("-pk")[:30],
            "silence_hours": SILENCE_HOURS,
            "counts": selectors.state_counts(),
        },
    )


def _back(request):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("alerts-page")


@login_required
@require_POST
def acknowledge(request, alert_id: int):
    _staff_only(request)
    get_object_or_404(selectors.alert_list(state="all"), pk=alert_id)
    try:
        comment = request.POST.get("comment", "")[:2000]
        lifecycle.acknowledge_alert(alert_id=alert_id, user=request.user, comment=comment)
    except lifecycle.IllegalAlertTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已确认，升级和重复提醒已停止"))
    return _back(request)


@login_required
@require_POST
def resolve(request, alert_id: int):
    _staff_only(request)
    get_object_or_404(selectors.alert_list(state="all"), pk=alert_id)
    try:
        lifecycle.resolve_alert(alert_id=alert_id, user=request.user, comment=request.POST.get("comment", "")[:2000])
    except lifecycle.IllegalAlertTransition as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("已关闭"))
    return _back(request)


@login_required
@require_POST
def silence(request):
    """Silence one rule (and project, when given) for a few hours."""
    _staff_only(request)
    rule, project = request.POST.get("rule", ""), request.POST.get("project", "")
    try:
        hours = int(request.POST.get("hours", ""))
        if hours not in SILENCE_HOURS:
            raise ValueError
    except ValueError:
        messages.error(request, _("请选择静默时长"))
        return _back(request)
    matchers = [{"name": "rule", "op": "=", "value": rule}]
    if project:
        matchers.append({"name": "project", "op": "=", "value": project})
    try:
        suppression.create_silence(
            matchers=matchers,
            ends_at=timezone.now() + timedelta(hours=hours),
            comment=request.POST.get("comment", ""),
            user=request.user,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已静默 %(hours)s 小时") % {"hours": hours})
    return _back(request)
