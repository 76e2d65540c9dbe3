"""Thresholds of the alert rules and of message delivery, editable by staff at runtime (admin).

Each is declared here (or by an app's `alert_rules.py` with `declare_threshold`) with its
meaning, unit, bounds and default; an `AlertThreshold` row holds a value staff set. Code reads
them at run time with `threshold_value(key)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ThresholdSpec:
    key: str
    label: str
    unit: str
    default: float
    minimum: float
    maximum: float
    integer: bool = True


SPECS: dict[str, ThresholdSpec] = {
    spec.key: spec
    for spec in (
        # Alertmanager's group_wait: a new group's first message waits this long, so that a burst
        # raised together is one message.
        ThresholdSpec("group_wait_s", _("分组等待：新预警首条消息前等待同组的其他预警"), _("秒"), 30, 0, 3600),
        # Alertmanager's group_interval (the name is kept from when it was the only window): a
        # group already told hears about its new alerts at most this often.
        ThresholdSpec("group_window_s", _("分组间隔：同一接收人同一规则两条消息之间至少相隔"), _("秒"), 60, 0, 3600),
        ThresholdSpec("repeat_interval_s", _("仍未恢复的预警再次提醒的间隔"), _("秒"), 4 * 3600, 300, 7 * 86400),
        ThresholdSpec("escalate_critical_s", _("严重预警未确认多久后升级"), _("秒"), 30 * 60, 60, 7 * 86400),
        ThresholdSpec("escalate_warning_s", _("警告预警未确认多久后升级"), _("秒"), 4 * 3600, 60, 30 * 86400),
        # 0 means "never": information does not wake anyone's manager.
        ThresholdSpec("escalate_info_s", _("提示预警未确认多久后升级（0 表示不升级）"), _("秒"), 0, 0, 30 * 86400),
        ThresholdSpec("job_not_running_grace_s", _("任务应运行时间之后多久仍未成功则告警"), _("秒"), 600, 0, 86400),
        ThresholdSpec("token_failing_minutes", _("用友令牌持续获取失败多久后告警"), _("分钟"), 15, 1, 1440),
    )
}


class UnknownThreshold(LookupError):
    pass


def declare_threshold(spec: ThresholdSpec) -> ThresholdSpec:
    """Declare (or re-declare, on re-import) a threshold of an app's rule, next to that rule, so
    staff edit it like the core's own."""
    if not spec.minimum <= spec.default <= spec.maximum:
        raise ValueError(f"threshold {spec.key}: default {spec.default} outside [{spec.minimum}, {spec.maximum}]")
    SPECS[spec.key] = spec
    return spec


def validate_threshold(key: str, value) -> float:
    """The value as stored, or a ValidationError saying what is allowed (in Chinese)."""
    spec = SPECS.get(key)
    if spec is None:
        raise ValidationError(_("没有这个参数：%(key)s"), params={"key": key})
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(_("请输入数字")) from None
    if math.isnan(number) or math.isinf(number):
        raise ValidationError(_("请输入数字"))
    if spec.integer and number != int(number):
        raise ValidationError(_("请输入整数"))
    if not spec.minimum <= number <= spec.maximum:
        raise ValidationError(
            _("取值范围为 %(min)s 到 %(max)s %(unit)s"),
            params={"min": f"{spec.minimum:g}", "max": f"{spec.maximum:g}", "unit": spec.unit},
        )
    return number


def threshold_value(key: str) -> float:
    """The current value: what staff set, else the declared default."""
    from alerts.alerting.models import AlertThreshold

    spec = SPECS.get(key)
    if spec is None:
        raise UnknownThreshold(key)
    stored = AlertThreshold.objects.filter(key=key).values_list("value", flat=True).first()
    return spec.default if stored is None else stored


def set_threshold(*, key: str, value, user=None) -> float:
    """Staff change a threshold; refused with a ValidationError (nothing saved) when out of bounds."""
    from django.utils import timezone

    from alerts.alerting.models import AlertThreshold

    number = validate_threshold(key, value)
    AlertThreshold.objects.update_or_create(
        key=key, defaults={"value": number, "updated_at": timezone.now(), "updated_by": user}
    )
    return number
