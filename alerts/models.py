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
