"""Scheduler data: one row per registered job (`ScheduledJob`), one per run (`JobRun`), and
cumulative counters per job (`JobStats`) that survive the cleanup of old runs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_q.models import Schedule

# Upper bounds (seconds) of the duration histogram buckets exposed to Prometheus; +Inf is implied.
DURATION_BUCKETS_S = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class ScheduledJob(models.Model):
    """Links a registered job to its django-q2 `Schedule` row.

    `default_cron` is the default that registration last applied: when the schedule's cron still
    equals it, staff have not edited it and a new default from code may replace it; when it
    differs, staff edited it at runtime and registration keeps their value.
    """

    job_id = models.CharField(_("任务标识"), max_length=100, primary_key=True)
    schedule = models.OneToOneField(
        Schedule, verbose_name=_("调度"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_cron = models.CharField(_("默认 cron"), max_length=100)
    in_registry = models.BooleanField(_("代码中存在"), default=True)
    # True only when registration disabled the job because its code was removed; staff-disabled
    # jobs stay disabled when the code comes back.
    disabled_by_registry = models.BooleanField(default=False)
    edited_at = models.DateTimeField(_("人工修改时间"), null=True, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("修改人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    registered_at = models.DateTimeField(_("注册时间"), default=timezone.now)

    class Meta:
        verbose_name = _("定时任务")
        verbose_name_plural = _("定时任务")
        ordering = ["job_id"]

    def __str__(self) -> str:
        return self.job_id

    @property
    def cron(self) -> str:
        return (self.schedule.cron if self.schedule else None) or self.default_cron

    @property
    def enabled(self) -> bool:
        return bool(self.schedule and self.schedule.repeats != 0)

    @property
    def next_run(self):
        return self.schedule.next_run if self.enabled else None


class JobRun(models.Model):
    """One execution of a job, scheduled or manual; its row is the source of truth for metrics."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("运行中")
        SUCCESS = "success", _("成功")
        FAILED = "failed", _("失败")
        TIMEOUT = "timeout", _("超时")
        SKIPPED = "skipped", _("已跳过")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("定时")
        MANUAL = "manual", _("手动")
        RETRY = "retry", _("重试")
        # Queued because data a job reads was refreshed (a sync ended): `alerts.dependents`.
        AFTER_SYNC = "after_sync", _("同步后")

    FINISHED = (Status.SUCCESS, Status.FAILED, Status.TIMEOUT, Status.SKIPPED)

    job_id = models.CharField(_("任务标识"), max_length=100, db_index=True)
    trigger = models.CharField(_("触发方式"), max_length=10, choices=Trigger.choices)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("触发人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    retry_of = models.ForeignKey(
        "self", verbose_name=_("重试自"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(_("入队时间"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    duration_s = models.FloatField(_("耗时（秒）"), null=True, blank=True)
    sla_s = models.FloatField(_("SLA（秒）"), null=True, blank=True)
    # The run executed to its end (success or failure) but took longer than its SLA. Its status
    # stays what it was: `timeout` is kept for runs that were stopped before they could finish.
    sla_exceeded = models.BooleanField(_("超出 SLA"), default=False)
    # Scheduled fire times that passed without a run since the previous scheduled run.
    missed_runs = models.PositiveIntegerField(_("错过的定时次数"), default=0)
    error = models.TextField(_("错误"), blank=True)
    traceback = models.TextField(_("堆栈"), blank=True)
    result = models.JSONField(_("结果摘要"), null=True, blank=True)
    task_id = models.CharField(_("队列任务"), max_length=64, blank=True)
    host = models.CharField(_("执行主机"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("任务运行记录")
        verbose_name_plural = _("任务运行记录")
        permissions = [("run_job", _("可以手动运行或重试任务"))]
        ordering = ["-queued_at", "-id"]
        indexes = [
            models.Index(fields=["job_id", "-queued_at"], name="alerts_run_job_recent"),
            models.Index(fields=["status", "started_at"], name="alerts_run_status_started"),
        ]
        constraints = [
            # The overlap policy lives in the database: at most one running run per job, on every
            # host. A second claim fails with IntegrityError and is recorded as skipped.
            models.UniqueConstraint(fields=["job_id"], condition=Q(status="running"), name="alerts_one_running_run"),
            # Two syncs ending at once queue one after-sync run of a job, not two.
            models.UniqueConstraint(
                fields=["job_id"],
                condition=Q(status="queued", trigger="after_sync"),
                name="alerts_one_queued_after_sync_run",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "success", "failed", "timeout", "skipped"]),
                name="alerts_run_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class JobStats(models.Model):
    """Cumulative counters per job for Prometheus: they only grow, even when old runs are deleted."""

    job_id = models.CharField(max_length=100, primary_key=True)
    success_total = models.PositiveBigIntegerField(default=0)
    failed_total = models.PositiveBigIntegerField(default=0)
    timeout_total = models.PositiveBigIntegerField(default=0)
    skipped_total = models.PositiveBigIntegerField(default=0)
    sla_exceeded_total = models.PositiveBigIntegerField(default=0)
    duration_count = models.PositiveBigIntegerField(default=0)
    duration_sum_s = models.FloatField(default=0.0)
    # Cumulative counts per bucket of DURATION_BUCKETS_S (same order), excluding +Inf.
    duration_buckets = models.JSONField(default=list)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("任务累计统计")
        verbose_name_plural = _("任务累计统计")

    def __str__(self) -> str:
        return self.job_id

    def count_for(self, status: str) -> int:
        return getattr(self, f"{status}_total")


# --- The notification outbox (alerts.outbox writes rows, alerts.delivery sends them) ----------


class Channel(models.TextChoices):
    WECOM_ROBOT = "wecom_robot", _("企业微信群机器人")
    WECOM_APP = "wecom_app", _("企业微信应用消息")
    SMS = "sms", _("短信")
    EMAIL = "email", _("邮件")


class Notification(models.Model):
    """One message to one receiver on one channel: a row first, delivered after commit.

    pending → sending (claimed under a lease) → sent; a retryable failure goes to failed with a
    `next_attempt_at`, a permanent one (or the last allowed attempt) to dead. `idempotency_key` is
    unique, so a message is written, and therefore sent, at most once per key.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("失败待重试")
        DEAD = "dead", _("已放弃")

    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices)
    # What the channel needs: a robot's webhook key, a WeCom user id, a phone number, an email address.
    address = models.CharField(_("接收地址"), max_length=254)
    title = models.CharField(_("标题"), max_length=200)
    text = models.TextField(_("内容"))
    link = models.CharField(_("链接"), max_length=500, blank=True, default="")
    idempotency_key = models.CharField(_("幂等键"), max_length=200, unique=True)
    # Ids of the alerts this message is about, for their timelines (no FK: alerts and the outbox
    # are written by different services and a deleted alert must not delete what was sent).
    alert_ids = models.JSONField(_("预警"), default=list, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("发送次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次发送时间"), null=True, blank=True)
    # When the delivery task was last handed to the broker; a pending row enqueued long ago whose
    # task never ran is enqueued again by the sweep.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(_("错误码"), max_length=50, blank=True, default="")
    last_error_message = models.TextField(_("错误信息"), blank=True, default="")
    provider_message_id = models.CharField(_("服务商消息 ID"), max_length=200, blank=True, default="")
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="alerts_notification_due"),
            models.Index(fields=["channel", "status"], name="alerts_notification_channel"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed", "dead"]),
                name="alerts_notification_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["wecom_robot", "wecom_app", "sms", "email"]),
                name="alerts_notification_channel_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.title}"  # no address: a robot key is a secret


class NotificationAlert(models.Model):
    """Which alerts a notification was about, queryable on every database (a JSON `contains`
    lookup is not available on SQLite): the alert timeline lists its notifications through it."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="alert_links")
    alert_id = models.BigIntegerField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "alert_id"], name="alerts_notificationalert_unique")
        ]

    def __str__(self) -> str:
        return f"notification {self.notification_id} → alert {self.alert_id}"


class RateSlot(models.Model):
    """One of the N sends a channel (or one robot) may make per window, shared by every worker on
    every host: a send takes a slot whose last use is older than the window, by conditional UPDATE.
    N slots per bucket make a sliding window: never more than N sends in any window-long span."""

    bucket = models.CharField(max_length=200)
    number = models.PositiveIntegerField()
    used_at = models.DateTimeField(null=True, blank=True)
    notification_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bucket", "number"], name="alerts_rateslot_unique")]

    def __str__(self) -> str:
        return f"{self.bucket}#{self.number}"


# Alerting models live in their own module; importing them here registers them with the app.
from alerts.alerting.models import (  # noqa: E402, F401
    Alert,
    AlertDelivery,
    AlertEvent,
    AlertThreshold,
    AlertTimer,
    Contact,
    Route,
    Silence,
)
