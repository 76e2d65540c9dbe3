"""Who is told about an alert, on which channel: contacts and the route tree (Alertmanager's
model), and the default receivers used when no route matches.

Top-level routes are tried in `position` order. A route matches when every criterion it sets
matches (rule, severity, category, labels); a matching route hands the alert to its children and
handles it itself when none of them matches. The first matching sibling wins unless it says
`continue_matching`. When nothing matches, the default receivers get it: with the remotes on the
sandbox (`make run`), one sandbox WeCom robot and the admin's email, so a new installation sees
messages arrive with nothing configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from alerts.alerting.models import Alert, Contact, Route, Severity
from alerts.models import Channel

ROBOT_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
# Mainland mobile numbers, optionally with +86 (what Aliyun SendSms accepts without a country code).
PHONE = re.compile(r"(\+?86)?1[3-9]\d{9}")
WECOM_USER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
CONTACT_FIELD_OF_CHANNEL = {
    Channel.WECOM_ROBOT: "wecom_robot_key",
    Channel.WECOM_APP: "wecom_user_id",
    Channel.SMS: "phone",
    Channel.EMAIL: "email",
}


@dataclass(frozen=True)
class Target:
    """One address on one channel; `contact_id` is None for the default receivers."""

    channel: str
    address: str
    contact_id: int | None = None

    @property
    def shown(self) -> str:
        """For timelines and pages: a robot's webhook key lets anyone post to the group, so it is
        never shown whole (as in the notifications admin and API)."""
        from alerts.notifications_api import masked

        address = masked(self.address) if self.channel == Channel.WECOM_ROBOT else self.address
        return f"{self.channel} → {address}"


def contact_address(contact: Contact, channel: str) -> str:
    return (getattr(contact, CONTACT_FIELD_OF_CHANNEL[channel], "") or "").strip()


# --- Validation (admin forms call these through the models' clean()) --------------------------


def validate_contact(contact: Contact) -> None:
    errors = {}
    if contact.wecom_robot_key and not ROBOT_KEY.fullmatch(contact.wecom_robot_key.strip()):
        errors["wecom_robot_key"] = _("群机器人 key 为 webhook 地址中 key= 之后的 8–64 位字母、数字、_ 或 -")
    if contact.wecom_user_id and not WECOM_USER_ID.fullmatch(contact.wecom_user_id.strip()):
        errors["wecom_user_id"] = _("企业微信用户 ID 只能包含字母、数字和 _ . @ -")
    if contact.phone and not PHONE.fullmatch(contact.phone.strip().replace(" ", "")):
        errors["phone"] = _("请输入 11 位中国大陆手机号")
    if contact.email:
        try:
            validate_email(contact.email)
        except ValidationError:
            errors["email"] = _("邮箱格式不正确")
    if not any(contact_address(contact, channel) for channel in CONTACT_FIELD_OF_CHANNEL):
        errors["__all__"] = _("至少填写一种联系方式：群机器人 key、企业微信用户 ID、手机号或邮箱")
    chain, step = {contact.pk}, contact.escalates_to
    while step is not None and not errors:
        if step.pk in chain or step.pk == contact.pk:
            errors["escalates_to"] = _("升级链不能形成循环")
            break
        chain.add(step.pk)
        step = step.escalates_to
    if errors:
        raise ValidationError(errors)


def validate_route_fields(*, rules: list, severities: list, categories: list, labels: dict, channels: list) -> None:
    from alerts import registry
    from alerts.alerting.rules import all_rules

    errors = {}
    known_rules = {rule.id for rule in all_rules()}
    if not isinstance(rules, list) or any(rule not in known_rules for rule in rules):
        errors["rules"] = _("规则须为已声明的规则标识列表，可用：%(rules)s") % {"rules": "、".join(sorted(known_rules))}
    if not isinstance(severities, list) or any(value not in Severity.values for value in severities):
        errors["severities"] = _("级别只能是 info、warning、critical")
    if not isinstance(categories, list) or any(value not in registry.CATEGORIES for value in categories):
        errors["categories"] = _("类别只能是：%(values)s") % {"values": "、".join(registry.CATEGORIES)}
    if not isinstance(labels, dict) or any(not isinstance(value, str) for value in labels.values()):
        errors["labels"] = _('标签须为 {"名称": "值"} 形式')
    if not isinstance(channels, list) or not channels or any(value not in Channel.values for value in channels):
        errors["channels"] = _("至少选择一个渠道：wecom_robot、wecom_app、sms、email")
    if errors:
        raise ValidationError(errors)


def validate_route_contacts(*, channels: list, contacts) -> None:
    """Every chosen contact must be reachable on at least one of the route's channels."""
    unreachable = [c.name for c in contacts if not any(contact_address(c, channel) for channel in channels)]
    if unreachable:
        raise ValidationError(
            {"contacts": _("以下联系人在所选渠道上没有联系方式：%(names)s") % {"names": "、".join(unreachable)}}
        )


# --- Matching ----------------------------------------------------------------------------------


def route_matches(route: Route, alert: Alert) -> bool:
    if route.rules and alert.rule not in route.rules:
        return False
    if route.severities and alert.severity not in route.severities:
        return False
    if route.categories and alert.category not in route.categories:
        return False
    labels = alert.labels or {}
    return all(str(labels.get(name, "")) == str(value) for name, value in (route.labels or {}).items())


class RouteTree:
    """The active routes, loaded once per dispatch pass, answering "who gets this alert"."""

    def __init__(self, routes: list[Route]):
        self.children: dict[int | None, list[Route]] = {}
        for route in routes:
            self.children.setdefault(route.parent_id, []).append(route)
        for siblings in self.children.values():
            siblings.sort(key=lambda route: (route.position, route.pk))

    @classmethod
    def load(cls) -> RouteTree:
        return cls(list(Route.objects.filter(is_active=True).prefetch_related("contacts")))

    def targets_for(self, alert: Alert) -> list[Target]:
        matched = self._match(None, alert)
        routes = matched if matched else None
        targets: dict[tuple[str, str], Target] = {}
        if routes is None:
            for target in default_targets():
                targets.setdefault((target.channel, target.address), target)
        else:
            for route in routes:
                for contact in route.contacts.all():
                    if not contact.is_active:
                        continue
                    for channel in route.channels:
                        address = contact_address(contact, channel)
                        if address:
                            targets.setdefault((channel, address), Target(channel, address, contact.pk))
        return list(targets.values())

    def _match(self, parent_id: int | None, alert: Alert) -> list[Route]:
        handled: list[Route] = []
        for route in self.children.get(parent_id, []):
            if not route_matches(route, alert):
                continue
            deeper = self._match(route.pk, alert)
            handled.extend(deeper or [route])
            if not route.continue_matching:
                break
        return handled


def default_targets() -> list[Target]:
    """Who is told when no route matches (see ALERT_DEFAULT_ROBOT_KEY / ALERT_DEFAULT_EMAIL)."""
    targets = []
    if settings.ALERT_DEFAULT_ROBOT_KEY:
        targets.append(Target(Channel.WECOM_ROBOT, settings.ALERT_DEFAULT_ROBOT_KEY))
    email = settings.ALERT_DEFAULT_EMAIL
    if email == "admin":
        from django.contrib.auth import get_user_model

        email = (
            get_user_model()
            .objects.filter(is_superuser=True, is_active=True)
            .exclude(email="")
            .order_by("pk")
            .values_list("email", flat=True)
            .first()
        ) or settings.ALERT_ADMIN_FALLBACK_EMAIL
    if email:
        targets.append(Target(Channel.EMAIL, email))
    return targets
