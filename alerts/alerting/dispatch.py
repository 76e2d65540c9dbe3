"""Turning open and resolved alerts into messages: routing, grouping, repeat, resolution notices.

One pass (`dispatch_alert_notifications`, run by the ticker when due, and every minute as a backstop) looks at
firing alerts that are neither silenced nor held by inhibition, finds each one's receivers
through the route tree, and groups what each receiver address should hear by rule and project.
A group is sent when its oldest new alert has waited `group_wait_s` (so a burst becomes one
message) and, for a group already told, `group_window_s` (Alertmanager's group_interval) after
its last message; or at once when it holds a repeat (an alert still firing, last told a repeat
interval ago). The pass brings the ticker's dispatch timer forward to the end of the earliest
window still running, so the next pass happens then (alerts.alerting.ticker). Alerts that
resolved are announced to every address that heard them fire.

Each group is one transaction: the `Notification` row (through `alerts.outbox`), the
`AlertDelivery` rows that remember who was told, and the timeline events. Deliveries are unique
per (alert, address) and repeats are claimed by a conditional UPDATE, so two passes racing send a
group once; the idempotency key makes a re-run of the same group a no-op in the outbox too.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alerts.alerting import messages
from alerts.alerting.models import Alert, AlertDelivery, AlertEvent, AlertStatus
from alerts.alerting.suppression import active_silences, holds, silencing
from alerts.alerting.thresholds import threshold_value
from alerts.alerting.ticker import wake_dispatch_by
from alerts.outbox import enqueue_notification
from alerts.routing import RouteTree, Target

logger = logging.getLogger(__name__)


class GroupAlreadySent(Exception):
    """Another pass sent (part of) this group first; this pass's transaction is rolled back."""


@dataclass
class Group:
    target: Target
    rule: str
    project: str
    new: list[Alert] = field(default_factory=list)
    repeats: list[tuple[Alert, AlertDelivery]] = field(default_factory=list)
    # When this receiver last heard about this group's firing alerts (None: never).
    last_told_at: datetime | None = None

    def alerts(self) -> list[Alert]:
        return sorted([*self.new, *(alert for alert, _delivery in self.repeats)], key=lambda alert: alert.pk)

    def due_at(self, wait: timedelta, interval: timedelta) -> datetime | None:
        """Alertmanager's timing: new alerts wait `wait` from the oldest one's start (a burst is
        one message), and a group already told hears again no sooner than `interval` after its
        last message. A repeat is due at once (it was held a whole repeat interval)."""
        if self.repeats:
            return datetime.min.replace(tzinfo=UTC)
        if not self.new:
            return None
        due = min(alert.starts_at for alert in self.new) + wait
        if self.last_told_at is not None:
            due = max(due, self.last_told_at + interval)
        return due


@dataclass
class DispatchReport:
    messages: int = 0
    alerts_told: int = 0
    resolved_messages: int = 0
    silenced: int = 0
    held: int = 0
    waiting: int = 0
    lost_races: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _key(kind: str, target: Target, rule: str, project: str, parts: list[str]) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f"alert:{kind}:{target.channel}:{rule}:{project}:{digest}"[:200]


def dispatch_alert_notifications(*, now: datetime | None = None) -> dict:
    """One pass over open and newly resolved alerts; returns counts of what it did."""
    now = now or timezone.now()
    report = DispatchReport()
    wait = timedelta(seconds=threshold_value("group_wait_s"))
    interval = timedelta(seconds=threshold_value("group_window_s"))
    repeat = timedelta(seconds=threshold_value("repeat_interval_s"))
    groups, next_repeat = _firing_groups(now, repeat, report)
    wake_at = next_repeat
    for group in groups:
        due_at = group.due_at(wait, interval)
        if due_at is None or due_at > now:
            report.waiting += len(group.new)
            if due_at is not None:
                wake_at = due_at if wake_at is None else min(wake_at, due_at)
            continue
        try:
            _send_firing(group, now)
        except GroupAlreadySent:
            report.lost_races += 1
            continue
        report.messages += 1
        report.alerts_told += len(group.alerts())
    for target, rule, project, deliveries in _resolved_groups():
        try:
            _send_resolved(target, rule, project, deliveries, now)
        except GroupAlreadySent:
            report.lost_races += 1
            continue
        report.resolved_messages += 1
    if wake_at is not None:
        # The ticker runs the next pass when the earliest waiting window ends, not a minute later.
        wake_dispatch_by(wake_at)
    if report.messages or report.resolved_messages:
        logger.info("alert notifications dispatched", extra=report.as_dict())
    return report.as_dict()


def _firing_groups(now: datetime, repeat: timedelta, report: DispatchReport) -> tuple[list[Group], datetime | None]:
    """The groups with something to say, and when the earliest repeat not due yet will be."""
    firing = list(Alert.objects.filter(status=AlertStatus.FIRING).order_by("pk"))
    if not firing:
        return [], None
    silences = active_silences(now)
    held = holds(firing)
    tree = RouteTree.load()
    told: dict[tuple[int, str, str], AlertDelivery] = {
        (delivery.alert_id, delivery.channel, delivery.address): delivery
        for delivery in AlertDelivery.objects.filter(alert__status=AlertStatus.FIRING)
    }
    groups: dict[tuple, Group] = {}
    last_told: dict[tuple, datetime] = {}
    next_repeat: datetime | None = None
    for alert in firing:
        if silences and silencing(alert, silences) is not None:
            report.silenced += 1
            continue
        if alert.pk in held:
            report.held += 1
            continue
        for target in tree.targets_for(alert):
            key = (target.channel, target.address, alert.rule, alert.project)
            delivery = told.get((alert.pk, target.channel, target.address))
            if delivery is not None:
                told_at = delivery.last_notified_at
                last_told[key] = max(last_told.get(key, told_at), told_at)
                if told_at > now - repeat:
                    next_repeat = min(next_repeat or told_at + repeat, told_at + repeat)
                    continue
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(target=target, rule=alert.rule, project=alert.project)
            if delivery is None:
                group.new.append(alert)
            else:
                group.repeats.append((alert, delivery))
    for key, group in groups.items():
        group.last_told_at = last_told.get(key)
    return list(groups.values()), next_repeat


def _send_firing(group: Group, now: datetime) -> None:
    alerts = group.alerts()
    target = group.target
    title, text, link = messages.firing_message(
        rule_id=group.rule, project=group.project, alerts=alerts, repeat=not group.new
    )
    parts = [f"{alert.pk}:{delivery.notify_count}" for alert, delivery in group.repeats]
    parts += [f"{alert.pk}:0" for alert in group.new]
    try:
        with transaction.atomic():
            AlertDelivery.objects.bulk_create(
                [
                    AlertDelivery(
                        alert=alert,
                        channel=target.channel,
                        address=target.address,
                        contact_id=target.contact_id,
                        first_notified_at=now,
                        last_notified_at=now,
                    )
                    for alert in group.new
                ]
            )
            for _alert, delivery in group.repeats:
                claimed = AlertDelivery.objects.filter(
                    pk=delivery.pk, last_notified_at=delivery.last_notified_at
                ).update(last_notified_at=now, notify_count=F("notify_count") + 1)
                if not claimed:
                    raise GroupAlreadySent
            notification = enqueue_notification(
                channel=target.channel,
                address=target.address,
                title=title,
                text=text,
                link=link,
                idempotency_key=_key("firing", target, group.rule, group.project, [target.address, *sorted(parts)]),
                alert_ids=[alert.pk for alert in alerts],
            )
            new_ids = {alert.pk for alert in group.new}
            AlertEvent.objects.bulk_create(
                [
                    AlertEvent(
                        alert=alert,
                        kind=AlertEvent.Kind.NOTIFIED,
                        at=now,
                        message=target.shown,
                        data={"notification_id": notification.pk, "repeat": alert.pk not in new_ids},
                    )
                    for alert in alerts
                ]
            )
    except IntegrityError:
        raise GroupAlreadySent from None


def _resolved_groups():
    pending = (
        AlertDelivery.objects.filter(alert__status=AlertStatus.RESOLVED, resolved_notified_at__isnull=True)
        .select_related("alert", "alert__resolved_by")
        .order_by("alert_id")
    )
    groups: dict[tuple, list[AlertDelivery]] = defaultdict(list)
    for delivery in pending:
        target = Target(delivery.channel, delivery.address, delivery.contact_id)
        groups[(target, delivery.alert.rule, delivery.alert.project)].append(delivery)
    for (target, rule, project), deliveries in groups.items():
        yield target, rule, project, deliveries


def _send_resolved(target: Target, rule: str, project: str, deliveries: list[AlertDelivery], now: datetime) -> None:
    alerts = [delivery.alert for delivery in deliveries]
    title, text, link = messages.resolved_message(rule_id=rule, project=project, alerts=alerts)
    with transaction.atomic():
        claimed = AlertDelivery.objects.filter(
            pk__in=[delivery.pk for delivery in deliveries], resolved_notified_at__isnull=True
        ).update(resolved_notified_at=now)
        if claimed != len(deliveries):
            raise GroupAlreadySent
        notification = enqueue_notification(
            channel=target.channel,
            address=target.address,
            title=title,
            text=text,
            link=link,
            idempotency_key=_key("resolved", target, rule, project, [target.address, *(str(a.pk) for a in alerts)]),
            alert_ids=[alert.pk for alert in alerts],
        )
        AlertEvent.objects.bulk_create(
            [
                AlertEvent(
                    alert=alert,
                    kind=AlertEvent.Kind.RESOLVED_NOTIFIED,
                    at=now,
                    message=target.shown,
                    data={"notification_id": notification.pk},
                )
                for alert in alerts
            ]
        )
