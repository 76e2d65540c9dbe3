"""Why an open alert is not being told to anyone: a silence matches it, or an inhibiting rule
holds it (Alertmanager's two mechanisms).

Silences match on labels (the alert's own plus rule, severity, category) with the operators
=, !=, =~, !~ (regular expressions match the whole value).

Inhibition follows from the tables each rule's job reads (see `rules.inhibitors_of`). An alert is
held while an inhibiting alert with equal `inhibit_equal` labels is open, and stays held after that
alert resolves until its own rule has seen it true again: data that was stale when it fired is
not sent until an evaluation on fresh data confirms it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting import rules
from alerts.alerting.models import OPEN_STATUSES, Alert, Silence

OPERATORS = ("=", "!=", "=~", "!~")
MAX_MATCHERS = 20
MAX_SILENCE_DAYS = 90


class SilenceNotActive(RuntimeError):
    """The silence already ended."""


# --- Silences ----------------------------------------------------------------------------------


def validate_matchers(matchers) -> list[dict]:
    """Normalised matchers, or a ValidationError in the user's language."""
    if not isinstance(matchers, list) or not matchers:
        raise ValidationError(_("至少需要一个匹配条件"))
    if len(matchers) > MAX_MATCHERS:
        raise ValidationError(_("匹配条件最多 %(max)s 个"), params={"max": MAX_MATCHERS})
    normalised = []
    for matcher in matchers:
        if not isinstance(matcher, dict):
            raise ValidationError(_("匹配条件须为 {name, op, value} 对象"))
        name, op, value = matcher.get("name"), matcher.get("op", "="), matcher.get("value")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(_("匹配条件缺少标签名"))
        if op not in OPERATORS:
            raise ValidationError(_("不支持的运算符：%(op)s（可用 =、!=、=~、!~）"), params={"op": op})
        if not isinstance(value, str):
            raise ValidationError(_("标签 %(name)s 的值须为文本"), params={"name": name})
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValidationError(_("正则表达式无效：%(error)s"), params={"error": exc}) from None
        normalised.append({"name": name.strip(), "op": op, "value": value})
    if all(matcher_matches(matcher, {}) for matcher in normalised):
        # A silence that matches an alert with no labels at all would silence everything.
        raise ValidationError(_("匹配条件过宽：会静默全部预警"))
    return normalised


def matcher_matches(matcher: dict, labels: dict[str, str]) -> bool:
    actual = labels.get(matcher["name"], "")
    op, value = matcher["op"], matcher["value"]
    if op == "=":
        return actual == value
    if op == "!=":
        return actual != value
    found = re.fullmatch(value, actual) is not None
    return found if op == "=~" else not found


def silence_matches(silence: Silence, labels: dict[str, str]) -> bool:
    return all(matcher_matches(matcher, labels) for matcher in silence.matchers)


def active_silences(now: datetime | None = None) -> list[Silence]:
    now = now or timezone.now()
    return list(Silence.objects.filter(starts_at__lte=now, ends_at__gt=now).order_by("pk"))


def silencing(alert: Alert, silences: Iterable[Silence]) -> Silence | None:
    """The first active silence matching the alert, if any."""
    labels = alert.match_labels()
    return next((silence for silence in silences if silence_matches(silence, labels)), None)


def create_silence(
    *, matchers, ends_at: datetime, comment: str, user=None, starts_at: datetime | None = None, now=None
) -> Silence:
    """Silence alerts matching every matcher from `starts_at` (default now) to `ends_at`."""
    now = now or timezone.now()
    starts_at = starts_at or now
    normalised = validate_matchers(matchers)
    if not (comment or "").strip():
        raise ValidationError(_("请填写静默原因"))
    if ends_at <= starts_at or ends_at <= now:
        raise ValidationError(_("结束时间必须晚于开始时间和当前时间"))
    if (ends_at - starts_at).days > MAX_SILENCE_DAYS:
        raise ValidationError(_("静默最长 %(days)s 天"), params={"days": MAX_SILENCE_DAYS})
    return Silence.objects.create(
        matchers=normalised,
        starts_at=starts_at,
        ends_at=ends_at,
        comment=comment.strip(),
        created_by=user if user is not None and user.is_authenticated else None,
        created_at=now,
    )


def expire_silence(*, silence_id: int, now: datetime | None = None) -> None:
    """End a silence now (one not started yet is removed); alerts it covered are told again."""
    now = now or timezone.now()
    with transaction.atomic():
        if Silence.objects.filter(pk=silence_id, starts_at__gt=now).delete()[0]:
            return
        if not Silence.objects.filter(pk=silence_id, starts_at__lte=now, ends_at__gt=now).update(ends_at=now):
            if not Silence.objects.filter(pk=silence_id).exists():
                raise Silence.DoesNotExist
            raise SilenceNotActive(_("这个静默已经结束"))


# --- Inhibition --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    source_alert_id: int
    source_rule: str
    open: bool


def _equal_key(labels: dict, names: tuple[str, ...]) -> tuple[str, ...] | None:
    values = tuple(str((labels or {}).get(name, "")) for name in names)
    # An alert without the label is not "about the same thing": it cannot be inhibited by it.
    return None if any(value == "" for value in values) else values


def holds(alerts: list[Alert]) -> dict[int, Hold]:
    """For each of `alerts` that is held by inhibition, what holds it."""
    found: dict[int, Hold] = {}
    by_rule: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_rule.setdefault(alert.rule, []).append(alert)
    for rule_id, rule_alerts in by_rule.items():
        try:
            rule = rules.get_rule(rule_id)
        except rules.UnknownRule:
            continue
        for source in rules.inhibitors_of(rule):
            oldest_seen = min(alert.last_seen_at for alert in rule_alerts)
            sources = Alert.objects.filter(rule=source.id).filter(
                Q(status__in=OPEN_STATUSES) | Q(resolved_at__gt=oldest_seen)
            )
            index: dict[tuple, tuple[Alert, bool, datetime | None]] = {}
            for source_alert in sources.only("pk", "labels", "status", "resolved_at"):
                key = _equal_key(source_alert.labels, source.inhibit_equal)
                if key is None:
                    continue
                is_open = source_alert.status in OPEN_STATUSES
                known = index.get(key)
                if known is None or is_open or (not known[1] and source_alert.resolved_at > known[2]):
                    index[key] = (source_alert, is_open, source_alert.resolved_at)
            for alert in rule_alerts:
                key = _equal_key(alert.labels, source.inhibit_equal)
                match = index.get(key) if key is not None else None
                if match is None or alert.pk in found:
                    continue
                source_alert, is_open, resolved_at = match
                if is_open or (resolved_at is not None and resolved_at > alert.last_seen_at):
                    found[alert.pk] = Hold(source_alert_id=source_alert.pk, source_rule=source.id, open=is_open)
    return found
