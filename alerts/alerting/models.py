"""Alert data: alerts and their timeline, silences, contacts and routes, what was sent to whom,
and the thresholds staff tune at runtime."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    INFO = "info", _("提示")
    WARNING = "warning", _("警告")
    CRITICAL = "critical", _("严重")


class AlertStatus(models.TextChoices):
    FIRING = "firing", _("告警中")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    RESOLVED = "resolved", _("已恢复")


OPEN_STATUSES = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED)


class Alert(models.Model):
    """One occurrence of a rule being true for one key (its fingerprint is rule + key).

    firing → acknowledged → resolved (or firing → resolved). While open, raising it again only
    moves `last_seen_at` and `occurrences`; once resolved, the next raise is a new alert.
    """

    class ResolvedHow(models.TextChoices):
        AUTO = "auto", _("自动恢复")
        STAFF = "staff", _("人工关闭")

    rule = models.CharField(_("规则"), max_length=100)
    key = models.CharField(_("去重键"), max_length=255)
    severity = models.CharField(_("级别"), max_length=10, choices=Severity.choices)
    category = models.CharField(_("类别"), max_length=20)
    title = models.CharField(_("标题"), max_length=300)
    detail = models.TextField(_("详情"), blank=True)
    labels = models.JSONField(_("标签"), default=dict, blank=True)
    # Copied from labels["project"]: messages are grouped by it and the page filters on it.
    project = models.CharField(_("项目"), max_length=100, blank=True, db_index=True)
    link = models.CharField(_("链接"), max_length=500, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=AlertStatus.choices, default=AlertStatus.FIRING)
    starts_at = models.DateTimeField(_("开始时间"), default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(_("最近一次成立"), default=timezone.now)
    occurrences = models.PositiveIntegerField(_("成立次数"), default=1)
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledge_comment = models.TextField(_("确认说明"), blank=True)
    resolved_at = models.DateTimeField(_("恢复时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("关闭人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_how = models.CharField(_("恢复方式"), max_length=8, choices=ResolvedHow.choices, blank=True)
    # 0: the route's receivers; n: the n-th step of the escalation chain was told.
    escalation_level = models.PositiveSmallIntegerField(_("升级级别"), default=0)
    escalated_at = models.DateTimeField(_("最近升级时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        ordering = ["-starts_at", "-id"]
        constraints = [
            # Dedupe lives in the database: two workers raising the same key make one open alert.
            models.UniqueConstraint(
                fields=["rule", "key"], condition=Q(status__in=["firing", "acknowledged"]), name="alerts_one_open_alert"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["firing", "acknowledged", "resolved"]), name="alerts_alert_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "rule"], name="alerts_alert_status_rule"),
            models.Index(fields=["rule", "key"], name="alerts_alert_rule_key"),
        ]

    def __str__(self) -> str:
        return f"{self.rule}:{self.key} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def match_labels(self) -> dict[str, str]:
        """The labels silences and routes match on: the alert's own plus rule, severity, category."""
        merged = {str(name): str(value) for name, value in (self.labels or {}).items()}
        merged.update(rule=self.rule, severity=self.severity, category=self.category)
        return merged


class AlertEvent(models.Model):
    """One line of an alert's timeline."""

    class Kind(models.TextChoices):
        RAISED = "raised", _("触发")
        ACKNOWLEDGED = "acknowledged", _("确认")
        RESOLVED = "resolved", _("人工关闭")
        AUTO_RESOLVED = "auto_resolved", _("自动恢复")
        NOTIFIED = "notified", _("已通知")
        RESOLVED_NOTIFIED = "resolved_notified", _("已发送恢复通知")
        ESCALATED = "escalated", _("升级")
        SEVERITY_CHANGED = "severity_changed", _("级别变更")

    alert = models.ForeignKey(Alert, verbose_name=_("预警"), related_name="events", on_delete=models.CASCADE)
    kind = models.CharField(_("事件"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    message = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("附加信息"), default=dict, blank=True)

    class Meta:
        verbose_name = _("预警事件")
        verbose_name_plural = _("预警事件")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind}"


class Silence(models.Model):
    """Alertmanager's silence: while active, alerts whose labels satisfy every matcher are listed
    as silenced and no message is sent for them. Ending one early sets `ends_at` to now."""

    matchers = models.JSONField(
        _("匹配条件"), help_text=_('例如 [{"name": "rule", "op": "=", "value": "upload_failed"}]；op 为 =、!=、=~、!~')
    )
    starts_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    ends_at = models.DateTimeField(_("结束时间"))
    comment = models.TextField(_("原因"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("静默")
        verbose_name_plural = _("静默")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="alerts_silence_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.comment[:40]}"

    def is_active(self, now=None) -> bool:
        now = now or timezone.now()
        return self.starts_at <= now < self.ends_at


class Contact(models.Model):
    """Someone (or a named group) who can be told: the addresses each channel needs."""

    class Kind(models.TextChoices):
        PERSON = "person", _("个人")
        GROUP = "group", _("群组")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("对应用户"), null=True, blank=True, on_delete=models.SET_NULL
    )
    wecom_robot_key = models.CharField(_("企业微信群机器人 key"), max_length=100, blank=True)
    wecom_user_id = models.CharField(_("企业微信用户 ID"), max_length=64, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    email = models.EmailField(_("邮箱"), blank=True)
    # The next step of the escalation chain (owner → team lead → manager).
    escalates_to = models.ForeignKey(
        "self", verbose_name=_("未确认时升级给"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("联系人")
        verbose_name_plural = _("联系人")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from alerts.routing import validate_contact

        validate_contact(self)


class Route(models.Model):
    """A node of the route tree: alerts matching it go to its contacts on its channels.

    Siblings are tried in `position` order; the first match wins unless it says `continue_matching`.
    A matching node hands the alert to its children first, and handles it itself when none match.
    Empty criteria match everything.
    """

    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级路由"), null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    position = models.PositiveIntegerField(_("顺序"), default=0)
    rules = models.JSONField(_("规则"), default=list, blank=True, help_text=_("规则标识列表，空表示全部"))
    severities = models.JSONField(_("级别"), default=list, blank=True, help_text=_("info/warning/critical，空表示全部"))
    categories = models.JSONField(_("类别"), default=list, blank=True, help_text=_("空表示全部"))
    labels = models.JSONField(_("标签"), default=dict, blank=True, help_text=_('必须相等的标签，如 {"project": "P1"}'))
    contacts = models.ManyToManyField(Contact, verbose_name=_("接收人"), blank=True, related_name="routes")
    channels = models.JSONField(_("渠道"), default=list, blank=True, help_text=_("wecom_robot/wecom_app/sms/email"))
    continue_matching = models.BooleanField(_("匹配后继续"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("通知路由")
        verbose_name_plural = _("通知路由")
        ordering = ["parent_id", "position", "id"]

    def __str__(self) -> str:
        return self.name


class AlertDelivery(models.Model):
    """What one receiver address was told about one alert: the memory behind grouping, repeat,
    "已恢复" messages to whoever heard it fire, and the escalation chain."""

    alert = models.ForeignKey(Alert, related_name="deliveries", on_delete=models.CASCADE)
    channel = models.CharField(_("渠道"), max_length=20)
    address = models.CharField(_("地址"), max_length=255)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    escalation_level = models.PositiveSmallIntegerField(_("升级级别"), default=0)
    first_notified_at = models.DateTimeField(_("首次通知"))
    last_notified_at = models.DateTimeField(_("最近通知"))
    notify_count = models.PositiveIntegerField(_("通知次数"), default=1)
    resolved_notified_at = models.DateTimeField(_("恢复通知时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("预警送达")
        verbose_name_plural = _("预警送达")
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel", "address"], name="alerts_one_delivery_per_address")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.channel}:{self.address}"


class AlertThreshold(models.Model):
    """A rule threshold staff changed at runtime; its meaning, bounds and default are declared in
    `alerting.thresholds`. Absent rows mean the default."""

    key = models.CharField(_("参数"), max_length=64, primary_key=True)
    value = models.FloatField(_("值"))
    updated_at = models.DateTimeField(_("修改时间"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("修改人"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("预警阈值")
        verbose_name_plural = _("预警阈值")

    def __str__(self) -> str:
        return self.key


class AlertTimer(models.Model):
    """A named piece of alerting work that is due at a time, shared by every ticker on every host
    (see `alerting.ticker`): whoever moves `due_at` past now by a conditional UPDATE does the work."""

    name = models.CharField(max_length=40, primary_key=True)
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("预警定时器")
        verbose_name_plural = _("预警定时器")

    def __str__(self) -> str:
        return f"{self.name} @ {self.due_at}"
