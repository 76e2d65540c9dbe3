"""The project cache: projects of the remote project system and their parts as queryable rows.

The business alert jobs (milestone due, task delay, issue response timeout, cost overrun, payment
reminder, workload, health) read these tables with one set-based query each, so each table is
indexed for the query that reads it. A project keeps the hash of the remote document it was built
from (to write only what changed) and when it was last fetched (to show customers how old it is).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ProjectType(models.TextChoices):
    PRESALES = "presales", _("售前")
    AFTERSALES = "aftersales", _("售后")
    SALES = "sales", _("销售")


class ProjectStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未开始")
    IN_PROGRESS = "in_progress", _("进行中")
    PAUSED = "paused", _("已暂停")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class Project(models.Model):
    source = models.CharField(_("数据源"), max_length=50, default="main")
    remote_id = models.CharField(_("远程编号"), max_length=100)
    project_type = models.CharField(_("项目类型"), max_length=20, choices=ProjectType.choices)
    name = models.CharField(_("项目名称"), max_length=300)
    customer_id = models.CharField(_("客户编号"), max_length=100, blank=True)
    customer_name = models.CharField(_("客户"), max_length=200, blank=True)
    # The people told of a status change: the customer's contacts ({name, phone, email}).
    customer_contacts = models.JSONField(_("客户联系人"), default=list, blank=True)
    owner_id = models.CharField(_("负责人编号"), max_length=100, blank=True)
    owner_name = models.CharField(_("负责人"), max_length=100, blank=True)
    owner_phone = models.CharField(_("负责人电话"), max_length=50, blank=True)
    owner_email = models.CharField(_("负责人邮箱"), max_length=200, blank=True)
    owner_wecom_userid = models.CharField(_("负责人企业微信"), max_length=100, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=ProjectStatus.choices)
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    planned_start = models.DateField(_("计划开始"), null=True, blank=True)
    planned_end = models.DateField(_("计划结束"), null=True, blank=True)
    actual_start = models.DateField(_("实际开始"), null=True, blank=True)
    actual_end = models.DateField(_("实际结束"), null=True, blank=True)
    budget = models.DecimalField(_("预算"), max_digits=14, decimal_places=2, default=0)
    actual_cost = models.DecimalField(_("实际成本"), max_digits=14, decimal_places=2, default=0)
    # 售前 projects: the opportunity's stage and when it entered it (stage timeout job).
    opportunity_stage = models.CharField(_("商机阶段"), max_length=30, blank=True)
    stage_entered_at = models.DateTimeField(_("进入阶段时间"), null=True, blank=True)
    remote_updated_at = models.DateTimeField(_("远程更新时间"), null=True, blank=True)
    content_hash = models.CharField(_("内容哈希"), max_length=64)
    fetched_at = models.DateTimeField(_("获取时间"))
    changed_at = models.DateTimeField(_("内容变化时间"))
    # Set when a full pass no longer finds the project at the remote; the cleanup job deletes it.
    deleted_at = models.DateTimeField(_("远程已删除"), null=True, blank=True)
    # The last failed fetch of this project (kept until a fetch succeeds; the next run retries it).
    sync_error_code = models.CharField(_("同步错误码"), max_length=50, blank=True)
    sync_error = models.TextField(_("同步错误"), blank=True)

    class Meta:
        verbose_name = _("项目")
        verbose_name_plural = _("项目")
        ordering = ["source", "remote_id"]
        constraints = [models.UniqueConstraint(fields=["source", "remote_id"], name="projects_one_row_per_remote")]
        indexes = [
            # Staff list filters and the health / delay jobs: open projects past their planned end.
            models.Index(fields=["status", "planned_end"], name="projects_status_planned_end"),
            models.Index(fields=["project_type", "status"], name="projects_type_status"),
            models.Index(fields=["customer_name"], name="projects_customer"),
            models.Index(fields=["owner_id"], name="projects_owner"),
            models.Index(fields=["changed_at"], name="projects_changed_at"),
            models.Index(fields=["fetched_at"], name="projects_fetched_at"),
            models.Index(fields=["sync_error_code"], condition=~Q(sync_error_code=""), name="projects_failing"),
        ]

    def __str__(self) -> str:
        return f"{self.remote_id} {self.name}"


class Milestone(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("未完成")
        DONE = "done", _("已完成")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    remote_id = models.CharField(_("远程编号"), max_length=100)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)
    name = models.CharField(_("名称"), max_length=200)
    planned_date = models.DateField(_("计划日期"), null=True, blank=True)
    actual_date = models.DateField(_("实际日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices)
    payment_share = models.DecimalField(_("回款比例（%）"), max_digits=5, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("里程碑")
        verbose_name_plural = _("里程碑")
        ordering = ["project", "position"]
        # Milestone-due job: pending milestones by planned date.
        indexes = [models.Index(fields=["status", "planned_date"], name="projects_milestone_due")]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    class Status(models.TextChoices):
        TODO = "todo", _("未开始")
        DOING = "doing", _("进行中")
        DONE = "done", _("已完成")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    remote_id = models.CharField(_("远程编号"), max_length=100)
    name = models.CharField(_("名称"), max_length=300)
    assignee = models.CharField(_("负责人"), max_length=100, blank=True)
    due_date = models.DateField(_("截止日期"), null=True, blank=True)
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices)

    class Meta:
        verbose_name = _("任务")
        verbose_name_plural = _("任务")
        ordering = ["project", "due_date"]
        indexes = [
            # Task-delay job: unfinished tasks past their due date.
            models.Index(fields=["status", "due_date"], name="projects_task_delay"),
            # Workload job: open tasks per person.
            models.Index(fields=["assignee", "status"], name="projects_task_assignee"),
        ]

    def __str__(self) -> str:
        return self.name


class ProjectIssue(models.Model):
    class Severity(models.TextChoices):
        LOW = "low", _("低")
        MEDIUM = "medium", _("中")
        HIGH = "high", _("高")
        CRITICAL = "critical", _("严重")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="issues")
    remote_id = models.CharField(_("远程编号"), max_length=100)
    title = models.CharField(_("标题"), max_length=300)
    severity = models.CharField(_("严重程度"), max_length=20, choices=Severity.choices)
    blocking = models.BooleanField(_("阻塞"), default=False)
    opened_at = models.DateTimeField(_("提出时间"))
    responded_at = models.DateTimeField(_("响应时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("应解决时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("项目问题")
        verbose_name_plural = _("项目问题")
        ordering = ["project", "opened_at"]
        indexes = [
            # Issue-timeout job: unresolved issues past their due time, severe and blocking first.
            models.Index(fields=["resolved_at", "due_at"], name="projects_issue_timeout"),
            models.Index(fields=["severity", "blocking"], name="projects_issue_severity"),
        ]

    def __str__(self) -> str:
        return self.title


class PaymentPlan(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="payment_plans")
    remote_id = models.CharField(_("远程编号"), max_length=100)
    name = models.CharField(_("名称"), max_length=200)
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    due_date = models.DateField(_("应收日期"), null=True, blank=True)
    received_amount = models.DecimalField(_("已收金额"), max_digits=14, decimal_places=2, default=0)
    received_date = models.DateField(_("收款日期"), null=True, blank=True)
    milestone_remote_id = models.CharField(_("对应里程碑"), max_length=100, blank=True)
    # Ours, not the remote's: where the milestone's state puts the payment (written hourly by
    # check_milestone_status_and_adjust_payments; empty while the plan stands).
    expected_date = models.DateField(_("预计收款日期"), null=True, blank=True)
    expected_reason = models.CharField(_("调整原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("回款计划")
        verbose_name_plural = _("回款计划")
        ordering = ["project", "due_date"]
        # Payment-reminder job: plans due soon or overdue and not fully received.
        indexes = [models.Index(fields=["due_date", "received_date"], name="projects_payment_due")]

    def __str__(self) -> str:
        return self.name


class Timesheet(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="timesheets")
    person = models.CharField(_("人员"), max_length=100)
    work_date = models.DateField(_("日期"))
    hours = models.DecimalField(_("工时"), max_digits=5, decimal_places=1)
    # The person's cost per hour on that day, as the remote says (monthly labor cost).
    hourly_rate = models.DecimalField(_("小时费率"), max_digits=10, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("工时")
        verbose_name_plural = _("工时")
        ordering = ["project", "work_date"]
        # Workload job: hours per person per period.
        indexes = [models.Index(fields=["person", "work_date"], name="projects_timesheet_person")]

    def __str__(self) -> str:
        return f"{self.person} {self.work_date} {self.hours}"


class SyncRunStatus(models.TextChoices):
    RUNNING = "running", _("进行中")
    SUCCESS = "success", _("成功")
    PARTIAL = "partial", _("部分失败")
    FAILED = "failed", _("失败")


class ProjectSyncRun(models.Model):
    """One run of the project sync: what it found, what it wrote, what failed."""

    class Mode(models.TextChoices):
        INCREMENTAL = "incremental", _("增量")
        FULL = "full", _("全量")

    mode = models.CharField(_("方式"), max_length=20, choices=Mode.choices)
    status = models.CharField(_("状态"), max_length=20, choices=SyncRunStatus.choices, default=SyncRunStatus.RUNNING)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    duration_s = models.FloatField(_("耗时（秒）"), null=True, blank=True)
    projects_total = models.PositiveIntegerField(_("项目数"), default=0)
    created = models.PositiveIntegerField(_("新增"), default=0)
    updated = models.PositiveIntegerField(_("已更新"), default=0)
    unchanged = models.PositiveIntegerField(_("未变化"), default=0)
    deleted = models.PositiveIntegerField(_("已删除"), default=0)
    failed = models.PositiveIntegerField(_("失败"), default=0)
    # The failures of this run: [{"source", "remote_id", "code", "message"}].
    failures = models.JSONField(_("失败明细"), default=list, blank=True)
    error_code = models.CharField(_("错误码"), max_length=50, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("项目同步记录")
        verbose_name_plural = _("项目同步记录")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.mode} {self.status}"


class ProjectChange(models.Model):
    """What one run changed in one project, field by field: {"status": ["in_progress", "completed"]}."""

    class Kind(models.TextChoices):
        CREATED = "created", _("新增")
        UPDATED = "updated", _("更新")
        DELETED = "deleted", _("远程删除")

    run = models.ForeignKey(ProjectSyncRun, on_delete=models.CASCADE, related_name="changes", null=True, blank=True)
    project = models.ForeignKey(Project, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes")
    source = models.CharField(_("数据源"), max_length=50)
    remote_id = models.CharField(_("远程编号"), max_length=100)
    kind = models.CharField(_("变化"), max_length=20, choices=Kind.choices)
    diff = models.JSONField(_("字段变化"), default=dict, blank=True)
    changed_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("项目变化")
        verbose_name_plural = _("项目变化")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["project", "-changed_at"], name="projects_change_recent")]

    def __str__(self) -> str:
        return f"{self.remote_id} {self.kind}"


class SyncCursor(models.Model):
    """Per source: the remote's newest `updated_at` seen, and when the last full pass finished."""

    source = models.CharField(max_length=50, primary_key=True)
    updated_since = models.DateTimeField(null=True, blank=True)
    last_full_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("同步游标")
        verbose_name_plural = _("同步游标")

    def __str__(self) -> str:
        return self.source


def default_project_types() -> list[str]:
    return list(ProjectType.values)


def default_notify_channels() -> list[str]:
    # Every channel the seed names, so that a status change reaches its subscribers out of the box
    # (under `make run`, the sandbox's WeCom, SMS and SMTP). A channel with no credentials fails
    # its notifications visibly (dead, with the error), it does not drop them.
    return ["wecom_app", "sms", "email"]


class ProjectSyncConfig(models.Model):
    """The settings staff change at runtime on the config page (one row, pk=1). The cron and the
    enabled flag are not here: they are the `sync_projects` job's django-q2 schedule."""

    class TimeDisplay(models.TextChoices):
        RELATIVE = "relative", _("相对时间（N 分钟前）")
        ABSOLUTE = "absolute", _("绝对时间")

    project_types = models.JSONField(_("同步的项目类型"), default=default_project_types)
    sources = models.JSONField(_("同步的数据源"), default=list, blank=True, help_text=_("空表示全部数据源"))
    notify_status_change = models.BooleanField(_("状态变化时通知"), default=True)
    notify_channels = models.JSONField(_("通知渠道"), default=default_notify_channels, blank=True)
    time_display = models.CharField(
        _("客户页时间显示"), max_length=20, choices=TimeDisplay.choices, default=TimeDisplay.RELATIVE
    )
    time_format = models.CharField(_("绝对时间格式"), max_length=50, default="Y-m-d H:i")
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("项目同步配置")
        verbose_name_plural = _("项目同步配置")

    def __str__(self) -> str:
        return str(_("项目同步配置"))

    @classmethod
    def load(cls) -> "ProjectSyncConfig":
        return cls.objects.get_or_create(pk=1)[0]


class CustomerLink(models.Model):
    """A signed, expiring, revocable link that shows one project to its customer."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="customer_links")
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(_("过期时间"), db_index=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(_("最近访问"), null=True, blank=True)

    class Meta:
        verbose_name = _("客户链接")
        verbose_name_plural = _("客户链接")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.project.remote_id} #{self.pk}"

    def state(self, now=None) -> str:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "valid"


class IssueStatisticsSnapshot(models.Model):
    """One day's issue figures of a project and severity (每日问题统计快照), for trend charts."""

    day = models.DateField(_("日期"))
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="issue_snapshots")
    severity = models.CharField(_("严重程度"), max_length=20, choices=ProjectIssue.Severity.choices)
    opened = models.PositiveIntegerField(_("当日新增"), default=0)
    resolved = models.PositiveIntegerField(_("当日解决"), default=0)
    open = models.PositiveIntegerField(_("日终未解决"), default=0)
    overdue = models.PositiveIntegerField(_("日终逾期"), default=0)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("问题统计快照")
        verbose_name_plural = _("问题统计快照")
        ordering = ["-day", "project", "severity"]
        constraints = [
            models.UniqueConstraint(fields=["day", "project", "severity"], name="projects_issue_snapshot_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.project_id} {self.severity}"


class ResponseMetrics(models.Model):
    """Issue response and resolution times of a project or a team over a window (计算响应时效指标)."""

    class Scope(models.TextChoices):
        PROJECT = "project", _("项目")
        TEAM = "team", _("团队")

    day = models.DateField(_("日期"))
    scope = models.CharField(_("范围"), max_length=20, choices=Scope.choices)
    # The project's remote id (scope project) or the team's name: its owner (scope team).
    subject = models.CharField(_("对象"), max_length=200)
    window_days = models.PositiveSmallIntegerField(_("统计天数"))
    responded = models.PositiveIntegerField(_("已响应问题数"), default=0)
    response_mean_h = models.FloatField(_("平均响应（小时）"), null=True, blank=True)
    response_p90_h = models.FloatField(_("P90 响应（小时）"), null=True, blank=True)
    resolved = models.PositiveIntegerField(_("已解决问题数"), default=0)
    resolve_mean_h = models.FloatField(_("平均解决（小时）"), null=True, blank=True)
    resolve_p90_h = models.FloatField(_("P90 解决（小时）"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("响应时效指标")
        verbose_name_plural = _("响应时效指标")
        ordering = ["-day", "scope", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["day", "scope", "subject"], name="projects_response_metrics_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.subject}"


class ProjectProgressSummary(models.Model):
    """A project's progress of the day from its milestones (weighted by payment share) and its tasks
    (进度汇总计算), recomputed hourly; one row per day is its history."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="progress_history")
    day = models.DateField(_("日期"))
    milestone_pct = models.FloatField(_("里程碑进度（%）"), null=True, blank=True)
    task_pct = models.FloatField(_("任务进度（%）"), null=True, blank=True)
    progress_pct = models.FloatField(_("综合进度（%）"))
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("进度汇总")
        verbose_name_plural = _("进度汇总")
        ordering = ["project", "-day"]
        constraints = [models.UniqueConstraint(fields=["project", "day"], name="projects_progress_once_a_day")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.day} {self.progress_pct}"


class ProjectHealth(models.Model):
    """A project's health (健康度) on a day: a score from schedule, cost, issues and payments with
    the reasons it lost points. The hourly job rewrites today's row; past days are the snapshots."""

    class Level(models.TextChoices):
        GOOD = "good", _("健康")
        WATCH = "watch", _("关注")
        BAD = "bad", _("危险")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="health_history")
    day = models.DateField(_("日期"))
    score = models.PositiveSmallIntegerField(_("得分"))
    level = models.CharField(_("等级"), max_length=20, choices=Level.choices)
    reasons = models.JSONField(_("扣分原因"), default=list, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("项目健康度")
        verbose_name_plural = _("项目健康度")
        ordering = ["project", "-day"]
        constraints = [models.UniqueConstraint(fields=["project", "day"], name="projects_health_once_a_day")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.day} {self.score}"


class MonthlyLaborCost(models.Model):
    """A month's hours × rate of one person on one project (月度工时成本计算)."""

    month = models.DateField(_("月份"), help_text=_("该月第一天"))
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labor_costs")
    person = models.CharField(_("人员"), max_length=100)
    hours = models.DecimalField(_("工时"), max_digits=10, decimal_places=1)
    cost = models.DecimalField(_("成本"), max_digits=14, decimal_places=2)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("月度工时成本")
        verbose_name_plural = _("月度工时成本")
        ordering = ["-month", "project", "person"]
        constraints = [models.UniqueConstraint(fields=["month", "project", "person"], name="projects_labor_cost_once")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.person} {self.cost}"


class PresaleWorkOrder(models.Model):
    """A 售前 work order of a project (presale support request), open until closed."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="work_orders")
    remote_id = models.CharField(_("远程编号"), max_length=100)
    title = models.CharField(_("标题"), max_length=300)
    opened_at = models.DateTimeField(_("创建时间"))
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("售前工单")
        verbose_name_plural = _("售前工单")
        ordering = ["project", "opened_at"]
        indexes = [models.Index(fields=["closed_at", "opened_at"], name="projects_workorder_open")]

    def __str__(self) -> str:
        return self.title


class DutyFrequency(models.TextChoices):
    DAILY = "daily", _("每天")
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")


class DutyRole(models.Model):
    """A role (岗位) of the remote project system, whose people share its duty templates."""

    source = models.CharField(_("数据源"), max_length=50, default="main")
    remote_id = models.CharField(_("远程编号"), max_length=100)
    name = models.CharField(_("岗位"), max_length=100)
    fetched_at = models.DateTimeField(_("获取时间"))

    class Meta:
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
        ordering = ["source", "remote_id"]
        constraints = [models.UniqueConstraint(fields=["source", "remote_id"], name="projects_one_duty_role")]

    def __str__(self) -> str:
        return self.name


class DutyRoleMember(models.Model):
    """A person in a role, as the remote says. `username` is the stable key to a Yunqiao account:
    the account whose username it is sees the person's duty tasks."""

    role = models.ForeignKey(DutyRole, on_delete=models.CASCADE, related_name="members")
    person_key = models.CharField(_("人员编号"), max_length=100)
    person_name = models.CharField(_("姓名"), max_length=100)
    username = models.CharField(_("登录名"), max_length=150, blank=True, db_index=True)
    phone = models.CharField(_("电话"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("岗位成员")
        verbose_name_plural = _("岗位成员")
        ordering = ["role", "person_key"]
        constraints = [models.UniqueConstraint(fields=["role", "person_key"], name="projects_one_member_per_role")]

    def __str__(self) -> str:
        return f"{self.role} {self.person_name}"


class DutyTemplate(models.Model):
    """A recurring duty of a role: every day, on a weekday (1 = Monday) or on a day of the month
    (a day the month lacks means its last day). Kept when the remote drops it (inactive), so the
    tasks it made keep their template."""

    role = models.ForeignKey(DutyRole, on_delete=models.CASCADE, related_name="templates")
    source = models.CharField(_("数据源"), max_length=50, default="main")
    remote_id = models.CharField(_("远程编号"), max_length=100)
    title = models.CharField(_("职责"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    frequency = models.CharField(_("频率"), max_length=10, choices=DutyFrequency.choices)
    weekday = models.PositiveSmallIntegerField(_("星期几（1=周一）"), null=True, blank=True)
    day_of_month = models.PositiveSmallIntegerField(_("每月几号"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("岗位职责模板")
        verbose_name_plural = _("岗位职责模板")
        ordering = ["role", "remote_id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "remote_id"], name="projects_one_duty_template"),
            models.CheckConstraint(
                condition=Q(frequency="daily")
                | Q(frequency="weekly", weekday__gte=1, weekday__lte=7)
                | Q(frequency="monthly", day_of_month__gte=1, day_of_month__lte=31),
                name="projects_duty_template_schedule",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DutyTask(models.Model):
    """One day's duty of one person, made by `generate_job_duty_tasks` from a template. The
    constraint makes the day's task exist once, however many runs or workers make it."""

    template = models.ForeignKey(DutyTemplate, on_delete=models.CASCADE, related_name="tasks")
    day = models.DateField(_("日期"))
    person_key = models.CharField(_("人员编号"), max_length=100)
    person_name = models.CharField(_("姓名"), max_length=100)
    username = models.CharField(_("登录名"), max_length=150, blank=True)
    # Copied from the template: the task says what was asked that day, even after a rename.
    title = models.CharField(_("职责"), max_length=200)
    created_at = models.DateTimeField(_("生成时间"))
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("岗位职责任务")
        verbose_name_plural = _("岗位职责任务")
        ordering = ["-day", "person_name", "title"]
        constraints = [
            models.UniqueConstraint(fields=["template", "person_key", "day"], name="projects_duty_task_once")
        ]
        indexes = [
            # A person's page: their tasks of the last days.
            models.Index(fields=["username", "day"], name="projects_duty_task_person"),
            models.Index(fields=["day"], name="projects_duty_task_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.person_name} {self.title}"
