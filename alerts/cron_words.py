"""Cron expressions in words for people ("每天 07:00", "每 2 分钟"), through gettext.

Covers the shapes our jobs use; anything else is shown as the expression itself.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

_NUMBER = re.compile(r"^\d+$")
_STEP = re.compile(r"^\*/(\d+)$")
_DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def _weekday(value: int) -> str:
    names = [_("周日"), _("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六")]
    return names[value % 7]


def _day_number(token: str) -> int | None:
    token = token.lower()
    if token in _DAY_NAMES:
        return _DAY_NAMES[token]
    return int(token) if _NUMBER.match(token) else None


def _weekdays(field: str) -> str | None:
    parts = []
    for item in field.split(","):
        if "-" in item:
            start, _sep, end = item.partition("-")
            first, last = _day_number(start), _day_number(end)
            if first is None or last is None:
                return None
            parts.append(_("%(first)s至%(last)s") % {"first": _weekday(first), "last": _weekday(last)})
        else:
            day = _day_number(item)
            if day is None:
                return None
            parts.append(_weekday(day))
    return "、".join(parts)


def _clock_times(minute: str, hour: str) -> str | None:
    if not _NUMBER.match(minute):
        return None
    hours = hour.split(",")
    if not all(_NUMBER.match(h) for h in hours):
        return None
    return "、".join(f"{int(h):02d}:{int(minute):02d}" for h in hours)


def describe_cron(expression: str) -> str:
    """A short description of `expression` in the active language."""
    fields = str(expression).split()
    if len(fields) != 5:
        return str(expression)
    minute, hour, dom, month, dow = fields
    if dom == "*" and month == "*" and dow == "*":
        words = _sub_daily(minute, hour)
        if words:
            return words
    times = _clock_times(minute, hour)
    words = _calendar(times, dom, month, dow) if times else None
    return words or str(expression)


def _sub_daily(minute: str, hour: str) -> str | None:
    """Every minute / N minutes / hour / N hours."""
    if hour == "*":
        if minute == "*":
            return _("每分钟")
        if step := _STEP.match(minute):
            return _("每 %(n)s 分钟") % {"n": step.group(1)}
        if _NUMBER.match(minute):
            if int(minute) == 0:
                return _("每小时整点")
            return _("每小时第 %(minute)s 分") % {"minute": int(minute)}
    if (step := _STEP.match(hour)) and _NUMBER.match(minute):
        return _("每 %(n)s 小时（第 %(minute)s 分）") % {"n": step.group(1), "minute": int(minute)}
    return None


def _calendar(times: str, dom: str, month: str, dow: str) -> str | None:
    """At fixed clock times: every day, on weekdays, monthly, yearly."""
    if dom == "*" and month == "*":
        if dow == "*":
            return _("每天 %(time)s") % {"time": times}
        days = _weekdays(dow)
        return _("每%(days)s %(time)s") % {"days": days, "time": times} if days else None
    if dow != "*" or not _NUMBER.match(dom):
        return None
    if month == "*":
        return _("每月 %(day)s 日 %(time)s") % {"day": int(dom), "time": times}
    if _NUMBER.match(month):
        return _("每年 %(month)s 月 %(day)s 日 %(time)s") % {"month": int(month), "day": int(dom), "time": times}
    return None
