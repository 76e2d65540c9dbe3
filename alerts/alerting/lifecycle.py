"""The life of an alert: raised (deduplicated on rule + key), refreshed, resolved automatically
when its rule no longer holds for its key, acknowledged or resolved by staff. Every transition is
a conditional UPDATE on the status it leaves, and leaves an event on the alert's timeline."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, F
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting.models import OPEN_STATUSES, Alert, AlertEvent, AlertStatus, Severity
from alerts.alerting.rules import Rule, get_rule
from alerts.alerting.thresholds import threshold_value
from alerts.alerting.ticker import wake_dispatch_by

logger = logging.getLogger(__name__)

# Rows per UPDATE/SELECT ... IN (...): below SQLite's variable limit, few round trips elsewhere.
CHUNK = 500
MAX_KEY_CHARS = 255
MAX_TITLE_CHARS = 300


class IllegalAlertTransition(RuntimeError):
    """The alert is not in a state this action applies to (e.g. acknowledging a resolved alert)."""


@dataclass(frozen=True)
class Firing:
    """One key for which a rule holds, with what to say about it."""

    key: str
    title: str
    detail: str = ""
    labels: dict = field(default_factory=dict)
    link: str = ""
    severity: str | None = None


@dataclass
class Evaluation:
    raised: list[int] = field(default_factory=list)
    refreshed: int = 0
    resolved: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"raised": len(self.raised), "refreshed": self.refreshed, "resolved": len(self.resolved)}


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _clean_labels(labels: dict) -> dict[str, str]:
    return {str(name): str(value) for name, value in (labels or {}).items() if value is not None and value != ""}


def _new_alert(rule: Rule, firing: Firing, now: datetime) -> Alert:
    labels = _clean_labels(firing.labels)
    return Alert(
        rule=rule.id,
        key=str(firing.key)[:MAX_KEY_CHARS],
        severity=firing.severity or rule.severity,
        category=rule.category,
        title=firing.title[:MAX_TITLE_CHARS],
        detail=firing.detail,
        labels=labels,
        project=labels.get("project", "")[:100],
        link=firing.link,
        status=AlertStatus.FIRING,
        starts_at=now,
        last_seen_at=now,
    )


def raise_alert(
    *,
    rule: str,
    key: str,
    title: str,
    detail: str = "",
    labels: dict | None = None,
    link: str = "",
    severity: str | None = None,
    now: datetime | None = None,
) -> Alert:
    """Raise one alert, or refresh the open one with the same rule and key (no new row, no new message)."""
    spec = get_rule(rule)
    now = now or timezone.now()
    firing = Firing(key=str(key), title=title, detail=detail, labels=labels or {}, link=link, severity=severity)
    with transaction.atomic():
        existing = _refresh_open(spec, firing, now)
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                alert = _new_alert(spec, firing, now)
                alert.save()
        except IntegrityError:
            # Another worker raised the same key a moment ago: that alert is the one.
            existing = _refresh_open(spec, firing, now)
            if existing is None:
                raise
            return existing
        AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.RAISED, at=now, message=alert.title)
        _wake_for_new(now)
    logger.info("alert raised", extra={"rule": rule, "key": alert.key, "alert_id": alert.pk})
    return alert


def _refresh_open(rule: Rule, firing: Firing, now: datetime) -> Alert | None:
    key = str(firing.key)[:MAX_KEY_CHARS]
    labels = _clean_labels(firing.labels)
    before = Alert.objects.filter(rule=rule.id, key=key, status__in=OPEN_STATUSES).values("pk", "severity").first()
    if before is None:
        return None
    severity = firing.severity or rule.severity
    updated = Alert.objects.filter(pk=before["pk"], status__in=OPEN_STATUSES).update(
        last_seen_at=now,
        occurrences=F("occurrences") + 1,
        title=firing.title[:MAX_TITLE_CHARS],
        detail=firing.detail,
        labels=labels,
        project=labels.get("project", "")[:100],
        link=firing.link,
        severity=severity,
    )
    if not updated:
        return None
    if severity != before["severity"]:
        _record_severity_changes([(before["pk"], before["severity"], severity)], now)
    return Alert.objects.get(pk=before["pk"])


def _record_severity_changes(changes: list[tuple[int, str, str]], now: datetime) -> None:
    """A timeline event for each alert raised again with another severity (the alert keeps its
    row and its messages already sent; the routes, escalation window and later messages follow
    the new severity)."""
    AlertEvent.objects.bulk_create(
        [
            AlertEvent(
                alert_id=pk,
                kind=AlertEvent.Kind.SEVERITY_CHANGED,
                at=now,
                message=_("级别由%(old)s改为%(new)s") % {"old": Severity(old).label, "new": Severity(new).label},
                data={"from": old, "to": new},
            )
            for pk, old, new in changes
        ],
        batch_size=CHUNK,
    )


def _wake_for_new(now: datetime) -> None:
    """New alerts: the ticker's dispatch pass is due when their group_wait ends."""
    wake_dispatch_by(now + timedelta(seconds=threshold_value("group_wait_s")))


def evaluate_rule(*, rule: str, firing: Iterable[Firing], now: datetime | None = None) -> Evaluation:
    """Apply one evaluation of a rule: `firing` is the full set of keys for which it holds now.

    New keys raise alerts, known keys are refreshed, and open alerts of the rule whose key is not
    in the set are resolved automatically. Set-based: a few queries whatever the number of keys.
    """
    spec = get_rule(rule)
    now = now or timezone.now()
    wanted: dict[str, Firing] = {}
    for item in firing:
        wanted[str(item.key)[:MAX_KEY_CHARS]] = item
    result = Evaluation()
    with transaction.atomic():
        open_rows = {
            row["key"]: row
            for row in Alert.objects.filter(rule=spec.id, status__in=OPEN_STATUSES).values(
                "pk", "key", "title", "detail", "labels", "link", "severity"
            )
        }
        gone = [row["pk"] for key, row in open_rows.items() if key not in wanted]
        result.resolved = _auto_resolve(gone, now)

        still = [open_rows[key] for key in wanted if key in open_rows]
        for ids in _chunks([row["pk"] for row in still]):
            Alert.objects.filter(pk__in=ids, status__in=OPEN_STATUSES).update(
                last_seen_at=now, occurrences=F("occurrences") + 1
            )
        result.refreshed = len(still)
        changed = []
        severity_changes = []
        for row in still:
            item = wanted[row["key"]]
            labels = _clean_labels(item.labels)
            title = item.title[:MAX_TITLE_CHARS]
            severity = item.severity or spec.severity
            if (row["title"], row["detail"], row["labels"], row["link"], row["severity"]) != (
                title,
                item.detail,
                labels,
                item.link,
                severity,
            ):
                changed.append(
                    Alert(
                        pk=row["pk"],
                        title=title,
                        detail=item.detail,
                        labels=labels,
                        project=labels.get("project", "")[:100],
                        link=item.link,
                        severity=severity,
                    )
                )
            if severity != row["severity"]:
                severity_changes.append((row["pk"], row["severity"], severity))
        if changed:
            Alert.objects.bulk_update(
                changed, ["title", "detail", "labels", "project", "link", "severity"], batch_size=CHUNK
            )
        _record_severity_changes(severity_changes, now)

        result.raised = _insert_new(spec, [item for key, item in wanted.items() if key not in open_rows], now)
    if result.raised or result.resolved:
        logger.info("alert rule evaluated", extra={"rule": spec.id, **result.as_dict()})
    return result


# The columns a new alert takes from its firing; every other column is the same for all the alerts
# one evaluation raises (rule, category, status, times, counters), prepared once per evaluation.
_PER_FIRING = ("key", "severity", "title", "detail", "labels", "project", "link")


def _insert_new(rule: Rule, items: list[Firing], now: datetime) -> list[int]:
    """Insert the alerts for new keys and their "raised" events; return their ids.

    Thousands of keys at once (a job's first run) made Django's `bulk_create` spend most of the
    time preparing model instances field by field (docs/benchmarks.md, erpjobs). Here the alerts
    are plain rows in one statement — PostgreSQL: one array per column through `unnest`; SQLite:
    one `executemany`, whose loop runs in C — and their events come from one INSERT … SELECT.
    `ON CONFLICT DO NOTHING` leaves a key another worker opened meanwhile to that worker's row
    (the partial unique index `alerts_one_open_alert` is what conflicts).
    """
    if not items:
        return []
    alert_table, event_table = Alert._meta.db_table, AlertEvent._meta.db_table
    qn = connection.ops.quote_name
    prototype = _new_alert(rule, Firing(key="", title=""), now)
    rest = [f for f in Alert._meta.concrete_fields if not f.primary_key and f.attname not in _PER_FIRING]
    columns = ", ".join(qn(name) for name in [*_PER_FIRING, *(f.column for f in rest)])
    tail = [f.get_db_prep_save(getattr(prototype, f.attname), connection) for f in rest]
    rows = []
    for item in items:
        labels = _clean_labels(item.labels)
        rows.append(
            (
                str(item.key)[:MAX_KEY_CHARS],
                item.severity or rule.severity,
                item.title[:MAX_TITLE_CHARS],
                item.detail,
                json.dumps(labels),  # what JSONField stores on both backends (encoder None)
                labels.get("project", "")[:100],
                item.link,
            )
        )
    at = Alert._meta.get_field("starts_at").get_db_prep_save(now, connection)
    # Ours are the open alerts of this rule that start at `now` and have no "raised" event yet: a
    # row another worker committed meanwhile came with its own event in the same transaction.
    ours = (
        f"FROM {qn(alert_table)} a WHERE a.{qn('rule')} = %s AND a.{qn('starts_at')} = %s"  # noqa: S608 (model names, values as params)
        f" AND a.{qn('status')} IN (%s, %s) AND NOT EXISTS (SELECT 1 FROM {qn(event_table)} e"
        f" WHERE e.{qn('alert_id')} = a.{qn('id')} AND e.{qn('kind')} = %s)"
    )
    ours_params = [rule.id, at, AlertStatus.FIRING.value, AlertStatus.ACKNOWLEDGED.value, AlertEvent.Kind.RAISED.value]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Text arrays without a length: `varchar(300)[]` would truncate silently where the
            # column refuses; the constants are cast to their column's type for the same reason.
            per_firing = ", ".join(
                f"u.c{n}" if name != "labels" else f"u.c{n}::jsonb" for n, name in enumerate(_PER_FIRING)
            )
            constants = ", ".join(f"CAST(%s AS {_sql_type(f)})" for f in rest)
            aliases = ", ".join(f"c{n}" for n in range(len(_PER_FIRING)))
            cursor.execute(
                f"INSERT INTO {qn(alert_table)} ({columns}) SELECT {per_firing}, {constants}"  # noqa: S608
                f" FROM unnest({', '.join(['%s::text[]'] * len(_PER_FIRING))}) AS u({aliases})"
                " ON CONFLICT DO NOTHING",
                [*tail, *(list(column) for column in zip(*rows, strict=True))],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {qn(alert_table)} ({columns}) VALUES ({', '.join(['%s'] * (len(rows[0]) + len(tail)))})"  # noqa: S608
                " ON CONFLICT DO NOTHING",
                [row + tuple(tail) for row in rows],
            )
        cursor.execute(f"SELECT a.{qn('id')} {ours} ORDER BY a.{qn('id')}", ours_params)
        ids = [row[0] for row in cursor.fetchall()]
        if ids:
            no_data = AlertEvent._meta.get_field("data").get_db_prep_save({}, connection)
            event_columns = ("alert_id", "kind", "at", "message", "data", "actor_id")
            cursor.execute(
                f"INSERT INTO {qn(event_table)} ({', '.join(qn(c) for c in event_columns)})"
                f" SELECT a.{qn('id')}, %s, %s, %s, %s, NULL {ours}",
                [AlertEvent.Kind.RAISED.value, at, "", no_data, *ours_params],
            )
    if ids:
        _wake_for_new(now)
    return ids


def _sql_type(field) -> str:
    return "varchar" if isinstance(field, CharField) else field.db_type(connection)


def _auto_resolve(alert_ids: list[int], now: datetime) -> list[int]:
    resolved = []
    for ids in _chunks(alert_ids):
        # Only the rows still open at this instant: a concurrent staff resolve keeps its own event.
        still_open = list(Alert.objects.filter(pk__in=ids, status__in=OPEN_STATUSES).values_list("pk", flat=True))
        Alert.objects.filter(pk__in=still_open, status__in=OPEN_STATUSES).update(
            status=AlertStatus.RESOLVED, resolved_at=now, resolved_how=Alert.ResolvedHow.AUTO
        )
        resolved += still_open
    AlertEvent.objects.bulk_create(
        [
            AlertEvent(alert_id=pk, kind=AlertEvent.Kind.AUTO_RESOLVED, at=now, message=_("条件不再成立，自动恢复"))
            for pk in resolved
        ],
        batch_size=CHUNK,
    )
    if resolved:
        wake_dispatch_by(now)  # "已恢复" to whoever heard them fire, at the next tick
    return resolved


def acknowledge_alert(*, alert_id: int, user, comment: str = "", now: datetime | None = None) -> Alert:
    """firing → acknowledged: someone owns it; escalation and repeat stop for it."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Alert.objects.filter(pk=alert_id, status=AlertStatus.FIRING).update(
            status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user, acknowledge_comment=comment
        )
        if not updated:
            raise IllegalAlertTransition(_("只能确认告警中的预警"))
        AlertEvent.objects.create(
            alert_id=alert_id, kind=AlertEvent.Kind.ACKNOWLEDGED, at=now, actor=user, message=comment
        )
    return Alert.objects.get(pk=alert_id)


def resolve_alert(*, alert_id: int, user, comment: str = "", now: datetime | None = None) -> Alert:
    """firing/acknowledged → resolved by staff. If the condition still holds, the next evaluation
    raises a new alert."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Alert.objects.filter(pk=alert_id, status__in=OPEN_STATUSES).update(
            status=AlertStatus.RESOLVED, resolved_at=now, resolved_by=user, resolved_how=Alert.ResolvedHow.STAFF
        )
        if not updated:
            raise IllegalAlertTransition(_("这条预警已经恢复"))
        AlertEvent.objects.create(alert_id=alert_id, kind=AlertEvent.Kind.RESOLVED, at=now, actor=user, message=comment)
        wake_dispatch_by(now)
    return Alert.objects.get(pk=alert_id)
