"""Synced ERP documents, the per-day sync status, and sync batches with their days.

The seed kept batch progress in the free-text `remarks` of a day row dated in the middle of the
range; here a batch is its own row with one child row per business day, so progress, retries and
crash recovery read and write typed columns.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- Synced documents --------------------------------------------------------------------------


class SyncedDocument(models.Model):
    """Columns every synced ERP document has; concrete types add their own header fields.

    Each concrete type declares its natural key as a unique constraint named
    `<table>_natural_key`; `sync.documents` upserts on exactly those fields.
    """

    remote_id = models.CharField(_("ERP 内部 ID"), max_length=64, db_index=True)
    business_date = models.DateField(_("单据日期"), db_index=True)
    pubts = models.DateTimeField(_("ERP 时间戳"), null=True, blank=True)
    synced_at = models.DateTimeField(_("同步时间"))

    class Meta:
        abstract = True


def _natural_key(model_name: str, *fields: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=list(fields), name=f"sync_{model_name}_natural_key")


class SalesOrder(SyncedDocument):
    code = models.CharField(_("单据编号"), max_length=64)
    customer_id = models.CharField(_("客户 ID"), max_length=64, blank=True)
    customer_name = models.CharField(_("客户"), max_length=200, blank=True, db_index=True)
    amount = models.DecimalField(_("金额"), max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(_("币种"), max_length=8, blank=True)
    status = models.IntegerField(_("状态码"), null=True, blank=True)
    status_name = models.CharField(_("状态"), max_length=32, blank=True)
    delivery_date = models.DateField(_("交货日期"), null=True, blank=True)
    product_code = models.CharField(_("物料编码"), max_length=64, blank=True)
    quantity = models.DecimalField(_("数量"), max_digits=18, decimal_places=4, default=0)

    class Meta:
        verbose_name = _("销售订单")
        verbose_name_plural = _("销售订单")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("salesorder", "code")]

    def __str__(self) -> str:
        return self.code


class PurchaseOrder(SyncedDocument):
    code = models.CharField(_("单据编号"), max_length=64)
    vendor_id = models.CharField(_("供应商 ID"), max_length=64, blank=True)
    vendor_name = models.CharField(_("供应商"), max_length=200, blank=True, db_index=True)
    product_code = models.CharField(_("物料编码"), max_length=64, blank=True)
    product_name = models.CharField(_("物料名称"), max_length=200, blank=True)
    specification = models.CharField(_("规格型号"), max_length=200, blank=True)
    quantity = models.DecimalField(_("数量"), max_digits=18, decimal_places=4, default=0)
    amount = models.DecimalField(_("金额"), max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(_("币种"), max_length=8, blank=True)
    status = models.IntegerField(_("状态码"), null=True, blank=True)
    status_name = models.CharField(_("状态"), max_length=32, blank=True)
    arrival_date = models.DateField(_("计划到货日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("采购订单")
        verbose_name_plural = _("采购订单")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("purchaseorder", "code")]

    def __str__(self) -> str:
        return self.code


class PurchaseArrival(SyncedDocument):
    code = models.CharField(_("单据编号"), max_length=64)
    vendor_id = models.CharField(_("供应商 ID"), max_length=64, blank=True)
    vendor_name = models.CharField(_("供应商"), max_length=200, blank=True, db_index=True)
    source_order_code = models.CharField(_("来源采购订单"), max_length=64, blank=True, db_index=True)
    product_code = models.CharField(_("物料编码"), max_length=64, blank=True)
    quantity = models.DecimalField(_("到货数量"), max_digits=18, decimal_places=4, default=0)

    class Meta:
        verbose_name = _("采购到货单")
        verbose_name_plural = _("采购到货单")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("purchasearrival", "code")]

    def __str__(self) -> str:
        return self.code


class Receivable(SyncedDocument):
    code = models.CharField(_("单据编号"), max_length=64)
    customer_id = models.CharField(_("客户 ID"), max_length=64, blank=True)
    customer_name = models.CharField(_("客户"), max_length=200, blank=True, db_index=True)
    amount = models.DecimalField(_("应收金额"), max_digits=18, decimal_places=2, default=0)
    balance = models.DecimalField(_("未收余额"), max_digits=18, decimal_places=2, default=0)
    due_date = models.DateField(_("到期日"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("应收单")
        verbose_name_plural = _("应收单")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("receivable", "code")]

    def __str__(self) -> str:
        return self.code


class MaterialStock(SyncedDocument):
    """A stock snapshot of one material in one warehouse on the business day."""

    code = models.CharField(_("快照编号"), max_length=64)
    warehouse_name = models.CharField(_("仓库"), max_length=100, blank=True)
    product_code = models.CharField(_("物料编码"), max_length=64, blank=True, db_index=True)
    product_name = models.CharField(_("物料名称"), max_length=200, blank=True)
    current_quantity = models.DecimalField(_("现存量"), max_digits=18, decimal_places=4, default=0)
    safety_quantity = models.DecimalField(_("安全库存"), max_digits=18, decimal_places=4, default=0)

    class Meta:
        verbose_name = _("物料库存")
        verbose_name_plural = _("物料库存")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("materialstock", "code")]
        # The shortage jobs read one day's stock of one material from inside a grouped query; on
        # the date index alone SQLite scanned the whole day per material (minutes at 30,000 rows).
        indexes = [models.Index(fields=["business_date", "product_code"], name="sync_stock_day_material")]

    def __str__(self) -> str:
        return self.code


class ProductionOrder(SyncedDocument):
    code = models.CharField(_("单据编号"), max_length=64)
    product_code = models.CharField(_("物料编码"), max_length=64, blank=True)
    product_name = models.CharField(_("物料名称"), max_length=200, blank=True)
    quantity = models.DecimalField(_("计划数量"), max_digits=18, decimal_places=4, default=0)
    finished_quantity = models.DecimalField(_("完工数量"), max_digits=18, decimal_places=4, default=0)
    start_date = models.DateField(_("开工日期"), null=True, blank=True)
    finish_date = models.DateField(_("计划完工日期"), null=True, blank=True, db_index=True)
    status = models.IntegerField(_("状态码"), null=True, blank=True)
    status_name = models.CharField(_("状态"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("生产订单")
        verbose_name_plural = _("生产订单")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("productionorder", "code")]

    def __str__(self) -> str:
        return self.code


class ProductionMaterialLine(SyncedDocument):
    """One material line of a production order (its bill of materials for that order): what must
    be issued to the shop floor before the order can start."""

    code = models.CharField(_("行编号"), max_length=64)
    order_code = models.CharField(_("生产订单"), max_length=64, blank=True, db_index=True)
    line_number = models.IntegerField(_("行号"), null=True, blank=True)
    product_code = models.CharField(_("物料编码"), max_length=64, blank=True, db_index=True)
    product_name = models.CharField(_("物料名称"), max_length=200, blank=True)
    specification = models.CharField(_("规格型号"), max_length=200, blank=True)
    required_quantity = models.DecimalField(_("需求数量"), max_digits=18, decimal_places=4, default=0)
    issued_quantity = models.DecimalField(_("已领数量"), max_digits=18, decimal_places=4, default=0)
    required_date = models.DateField(_("需求日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("生产订单用料")
        verbose_name_plural = _("生产订单用料")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("productionmaterialline", "code")]

    def __str__(self) -> str:
        return self.code


class OutsourcingOrder(SyncedDocument):
    """An outsourcing (委外) order: a vendor processes material for us and delivers it by a date."""

    code = models.CharField(_("单据编号"), max_length=64)
    vendor_id = models.CharField(_("委外商 ID"), max_length=64, blank=True)
    vendor_name = models.CharField(_("委外商"), max_length=200, blank=True, db_index=True)
    product_code = models.CharField(_("物料编码"), max_length=64, blank=True)
    product_name = models.CharField(_("物料名称"), max_length=200, blank=True)
    quantity = models.DecimalField(_("委外数量"), max_digits=18, decimal_places=4, default=0)
    received_quantity = models.DecimalField(_("已收货数量"), max_digits=18, decimal_places=4, default=0)
    due_date = models.DateField(_("交货日期"), null=True, blank=True, db_index=True)
    status = models.IntegerField(_("状态码"), null=True, blank=True)
    status_name = models.CharField(_("状态"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("委外订单")
        verbose_name_plural = _("委外订单")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("outsourcingorder", "code")]

    def __str__(self) -> str:
        return self.code


class WorkReport(SyncedDocument):
    """A work report (报工): the shop floor reporting output on a production order."""

    code = models.CharField(_("单据编号"), max_length=64)
    order_code = models.CharField(_("生产订单"), max_length=64, blank=True, db_index=True)
    reported_at = models.DateTimeField(_("报工时间"), null=True, blank=True)
    quantity = models.DecimalField(_("报工数量"), max_digits=18, decimal_places=4, default=0)
    operator_name = models.CharField(_("报工人"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("报工单")
        verbose_name_plural = _("报工单")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("workreport", "code")]

    def __str__(self) -> str:
        return self.code


class EngineeringChange(SyncedDocument):
    """An engineering change notice (ECN, 工程变更单): approved, then implemented, each by a deadline."""

    class Stage(models.IntegerChoices):
        PENDING_APPROVAL = 0, _("待审批")
        PENDING_IMPLEMENTATION = 1, _("待实施")
        DONE = 2, _("已完成")

    code = models.CharField(_("单据编号"), max_length=64)
    title = models.CharField(_("变更主题"), max_length=200, blank=True)
    product_code = models.CharField(_("物料编码"), max_length=64, blank=True)
    stage = models.IntegerField(_("阶段"), choices=Stage.choices, null=True, blank=True)
    approval_deadline = models.DateField(_("审批期限"), null=True, blank=True)
    implementation_deadline = models.DateField(_("实施期限"), null=True, blank=True)
    owner_name = models.CharField(_("负责人"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("工程变更单")
        verbose_name_plural = _("工程变更单")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("engineeringchange", "code")]

    def __str__(self) -> str:
        return self.code


class EquipmentMaintenancePlan(SyncedDocument):
    """One piece of equipment's maintenance plan: when it is next due."""

    code = models.CharField(_("计划编号"), max_length=64)
    equipment_code = models.CharField(_("设备编码"), max_length=64, blank=True)
    equipment_name = models.CharField(_("设备名称"), max_length=200, blank=True)
    workshop = models.CharField(_("车间"), max_length=100, blank=True)
    next_maintenance_date = models.DateField(_("下次保养日期"), null=True, blank=True, db_index=True)
    owner_name = models.CharField(_("负责人"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("设备保养计划")
        verbose_name_plural = _("设备保养计划")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("equipmentmaintenanceplan", "code")]

    def __str__(self) -> str:
        return self.code


class Quotation(SyncedDocument):
    """A sales quotation (报价单), valid until a date unless accepted or closed."""

    code = models.CharField(_("单据编号"), max_length=64)
    customer_name = models.CharField(_("客户"), max_length=200, blank=True, db_index=True)
    amount = models.DecimalField(_("报价金额"), max_digits=18, decimal_places=2, default=0)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    status = models.IntegerField(_("状态码"), null=True, blank=True)
    owner_name = models.CharField(_("业务员"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("报价单")
        verbose_name_plural = _("报价单")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("quotation", "code")]

    def __str__(self) -> str:
        return self.code


class Opportunity(SyncedDocument):
    """A CRM sales opportunity (商机) and when it was last followed up."""

    code = models.CharField(_("商机编号"), max_length=64)
    title = models.CharField(_("商机名称"), max_length=200, blank=True)
    customer_name = models.CharField(_("客户"), max_length=200, blank=True, db_index=True)
    stage = models.CharField(_("阶段"), max_length=32, blank=True)
    closed = models.BooleanField(_("已关闭"), default=False)
    last_follow_up = models.DateField(_("最近跟进"), null=True, blank=True)
    owner_name = models.CharField(_("业务员"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("商机")
        verbose_name_plural = _("商机")
        ordering = ["-business_date", "code"]
        constraints = [_natural_key("opportunity", "code")]

    def __str__(self) -> str:
        return self.code


# --- Per-day status (the seed's daily_sync_status) ---------------------------------------------


class DayStatus(models.TextChoices):
    SYNCING = "syncing", _("同步中")
    SUCCESS = "success", _("成功")
    FAILED = "failed", _("失败")


class SyncDay(models.Model):
    """The latest sync of one business day, over every declared document type."""

    sync_date = models.DateField(_("业务日期"), unique=True)
    status = models.CharField(_("状态"), max_length=16, choices=DayStatus.choices, default=DayStatus.SYNCING)
    total_records = models.PositiveIntegerField(_("记录总数"), default=0)
    success_count = models.PositiveIntegerField(_("成功条数"), default=0)
    failed_count = models.PositiveIntegerField(_("失败条数"), default=0)
    # {"sales_order": 1234, ...}: records written per document type in the latest run.
    document_counts = models.JSONField(_("各类单据条数"), default=dict, blank=True)
    start_time = models.DateTimeField(_("开始时间"), null=True, blank=True)
    end_time = models.DateTimeField(_("结束时间"), null=True, blank=True)
    duration_seconds = models.FloatField(_("耗时（秒）"), null=True, blank=True)
    error_code = models.CharField(_("错误代码"), max_length=64, blank=True)
    error_message = models.TextField(_("错误信息"), blank=True)
    remarks = models.TextField(_("备注"), blank=True)
    attempts = models.PositiveIntegerField(_("同步次数"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        db_table = "daily_sync_status"
        verbose_name = _("每日同步状态")
        verbose_name_plural = _("每日同步状态")
        ordering = ["-sync_date"]
        indexes = [models.Index(fields=["status", "sync_date"], name="daily_sync_status_st_date")]

    def __str__(self) -> str:
        return f"{self.sync_date} {self.get_status_display()}"


# --- Batches -----------------------------------------------------------------------------------


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    SYNCING = "syncing", _("同步中")
    SUCCESS = "success", _("成功")
    PARTIAL = "partial", _("部分失败")
    FAILED = "failed", _("失败")
    CANCELLED = "cancelled", _("已取消")


ACTIVE_BATCH_STATUSES = (BatchStatus.QUEUED, BatchStatus.SYNCING)
FINISHED_BATCH_STATUSES = (BatchStatus.SUCCESS, BatchStatus.PARTIAL, BatchStatus.FAILED, BatchStatus.CANCELLED)


class BatchTrigger(models.TextChoices):
    RANGE = "range", _("日期范围")
    DATE = "date", _("单日")
    ADMIN = "admin", _("管理后台")
    NIGHTLY = "nightly", _("每日定时")


class SyncBatch(models.Model):
    """A range of business days synced one day per background task, in date order."""

    status = models.CharField(_("状态"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.QUEUED)
    trigger = models.CharField(_("来源"), max_length=16, choices=BatchTrigger.choices, default=BatchTrigger.RANGE)
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    force = models.BooleanField(_("强制重新同步"), default=False)
    total_days = models.PositiveIntegerField(_("总天数"))
    processed_days = models.PositiveIntegerField(_("已处理天数"), default=0)
    success_days = models.PositiveIntegerField(_("成功天数"), default=0)
    failed_days = models.PositiveIntegerField(_("失败天数"), default=0)
    skipped_days = models.PositiveIntegerField(_("跳过天数"), default=0)
    total_records = models.PositiveIntegerField(_("同步记录数"), default=0)
    current_date = models.DateField(_("当前日期"), null=True, blank=True)
    cancel_requested = models.BooleanField(_("已请求取消"), default=False)
    attempts = models.PositiveIntegerField(_("运行次数"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    # Seconds spent working, summed over runs (a retried batch adds its second run).
    duration_seconds = models.FloatField(_("耗时（秒）"), default=0)
    # Who is working on the batch: a day task holds the lease while it syncs one day. A lease
    # that expired belongs to a worker that died; the recovery job then resumes the batch.
    lease_token = models.CharField(_("租约标识"), max_length=32, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(_("租约到期"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("最近进展"), default=timezone.now)
    error_message = models.TextField(_("错误信息"), blank=True)
    # The partial unique constraint below is over this column, so at most one active row per
    # value can exist (portable to SQLite and PostgreSQL alike): True for the batches staff start
    # (one at a time), False for the nightly sync's own one-day batch, which runs beside them.
    active_marker = models.BooleanField(_("员工批次（同一时间只能一个）"), default=True, editable=False)

    class Meta:
        verbose_name = _("批量同步")
        verbose_name_plural = _("批量同步")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One batch at a time, across every process: the second INSERT fails in the database.
            models.UniqueConstraint(
                fields=["active_marker"],
                condition=Q(status__in=["queued", "syncing"]),
                name="sync_one_active_batch",
            ),
            models.CheckConstraint(condition=Q(start_date__lte=models.F("end_date")), name="sync_batch_range_ordered"),
        ]
        indexes = [models.Index(fields=["status", "lease_expires_at"], name="sync_batch_status_lease")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.start_date}~{self.end_date}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BATCH_STATUSES

    @property
    def percent(self) -> float:
        if not self.total_days:
            return 100.0
        return round(100.0 * self.processed_days / self.total_days, 1)

    @property
    def elapsed_seconds(self) -> float:
        """Seconds worked so far, including the current run."""
        running = 0.0
        if self.is_active and self.started_at:
            running = (timezone.now() - self.started_at).total_seconds()
        return self.duration_seconds + running

    @property
    def eta_seconds(self) -> float | None:
        """Remaining seconds at the pace of the days processed in this run, None before the first."""
        if not self.is_active or not self.started_at:
            return None
        remaining = self.total_days - self.processed_days
        if remaining <= 0:
            return 0.0
        done_this_run = self.days.filter(finished_at__gte=self.started_at, status__in=PROCESSED_DAY_STATUSES).count()
        if not done_this_run:
            return None
        per_day = (timezone.now() - self.started_at).total_seconds() / done_this_run
        return round(per_day * remaining, 1)

    @property
    def eta(self):
        seconds = self.eta_seconds
        return None if seconds is None else timezone.now() + timedelta(seconds=seconds)


class BatchDayStatus(models.TextChoices):
    PENDING = "pending", _("待同步")
    SYNCING = "syncing", _("同步中")
    SUCCESS = "success", _("成功")
    FAILED = "failed", _("失败")
    SKIPPED = "skipped", _("已跳过")
    CANCELLED = "cancelled", _("已取消")
    RETRYING = "retrying", _("等待重试")


PROCESSED_DAY_STATUSES = (BatchDayStatus.SUCCESS, BatchDayStatus.FAILED, BatchDayStatus.SKIPPED)
UNFINISHED_DAY_STATUSES = (BatchDayStatus.PENDING, BatchDayStatus.SYNCING, BatchDayStatus.RETRYING)


class SyncBatchDay(models.Model):
    """One business day of a batch: what this batch did with it."""

    batch = models.ForeignKey(SyncBatch, verbose_name=_("批次"), related_name="days", on_delete=models.CASCADE)
    sync_date = models.DateField(_("业务日期"))
    status = models.CharField(_("状态"), max_length=16, choices=BatchDayStatus.choices, default=BatchDayStatus.PENDING)
    records = models.PositiveIntegerField(_("记录数"), default=0)
    failed_records = models.PositiveIntegerField(_("失败条数"), default=0)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    duration_seconds = models.FloatField(_("耗时（秒）"), null=True, blank=True)
    # While `retrying`: when the next attempt is due, and the end of the day's retry horizon
    # (set at its first transient failure); `error_*` then say why it is waiting.
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), null=True, blank=True)
    retry_until = models.DateTimeField(_("重试截止时间"), null=True, blank=True)
    error_code = models.CharField(_("错误代码"), max_length=64, blank=True)
    error_message = models.TextField(_("错误信息"), blank=True)

    class Meta:
        verbose_name = _("批次日期")
        verbose_name_plural = _("批次日期")
        ordering = ["batch", "sync_date"]
        constraints = [models.UniqueConstraint(fields=["batch", "sync_date"], name="sync_batch_day_unique")]

    def __str__(self) -> str:
        return f"{self.sync_date} {self.get_status_display()}"

    @property
    def retry_note(self) -> str:
        """For a day waiting to be tried again: how often it was tried, when it will be next
        (Asia/Shanghai), and why; "" otherwise."""
        if self.status != BatchDayStatus.RETRYING or self.next_attempt_at is None:
            return ""
        return _("已尝试 %(attempts)s 次，将于 %(time)s 再次尝试（%(code)s：%(reason)s）") % {
            "attempts": self.attempts,
            "time": timezone.localtime(self.next_attempt_at).strftime("%Y-%m-%d %H:%M:%S"),
            "code": self.error_code,
            "reason": self.error_message,
        }
