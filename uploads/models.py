"""Upload records (`upload_history`, the seed's table and column names) and the concurrency slots
that cap how many uploads talk to Yonyou at once across the whole deployment."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UploadStatus(models.TextChoices):
    PENDING = "pending", _("待上传")
    UPLOADING = "uploading", _("上传中")
    SUCCESS = "success", _("成功")
    FAILED = "failed", _("失败")


class DocType(models.TextChoices):
    SALES = "销售", _("销售")
    TRANSFER = "转库", _("转库")
    OTHER = "其他", _("其他")


class UploadRecordQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)


class ClientRequest(models.Model):
    """One upload request a client named with an `Idempotency-Key`, so that the same request sent
    again (its reply lost on a phone's network) is answered with what it stored the first time.

    The key is the client's, so it is unique only within who sent it: a user, or a signed link.
    The unique constraint, not a lookup, is what makes two concurrent repeats store one upload."""

    scope = models.CharField(_("来源"), max_length=100)  # "user:<id>" or "link:<hash of the link>"
    key = models.CharField(_("幂等键"), max_length=100)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        db_table = "upload_client_request"
        verbose_name = _("客户端上传请求")
        verbose_name_plural = _("客户端上传请求")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="upload_client_request_once")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class UploadRecord(models.Model):
    """One photo of one business document: safe on local disk first, then sent to Yonyou.

    pending → uploading → success | failed. A retryable failure puts the row back to pending with
    `next_attempt_at` in the future (until `gives_up_at`); every transition is a guarded UPDATE in
    `services.states`.
    """

    business_id = models.CharField(_("业务单据ID"), max_length=50, db_index=True)
    doc_number = models.CharField(_("单据编号"), max_length=100, db_index=True)
    doc_type = models.CharField(_("单据类型"), max_length=20, choices=DocType.choices)
    product_type = models.TextField(_("产品类型"), null=True, blank=True, default=None)
    # The generated, unique stored name: also the name under which the file is sent to Yonyou,
    # so that a re-upload can look for it in the document's attachments first.
    file_name = models.CharField(_("文件名"), max_length=255, unique=True)
    original_name = models.CharField(_("原文件名"), max_length=255, blank=True, default="")
    file_size = models.PositiveBigIntegerField(_("文件大小(字节)"))
    file_extension = models.CharField(_("扩展名"), max_length=20, blank=True, default="")
    sha256 = models.CharField(max_length=64, blank=True, default="")
    upload_time = models.DateTimeField(_("上传时间"), db_index=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=UploadStatus.choices, default=UploadStatus.PENDING, db_index=True
    )
    error_code = models.CharField(_("错误代码"), max_length=50, null=True, blank=True)
    error_message = models.TextField(_("错误信息"), null=True, blank=True)
    yonyou_file_id = models.CharField(_("用友文件ID"), max_length=255, null=True, blank=True)
    # Retryable failures so far (the seed's column); `attempts` counts every attempt started.
    retry_count = models.PositiveIntegerField(_("重试次数"), default=0)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    # Relative to DATA_DIR, so a data directory can move.
    local_file_path = models.CharField(_("本地路径"), max_length=500)
    local_file_deleted_at = models.DateTimeField(_("本地副本删除时间"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The request that stored this row, when its client named it with an Idempotency-Key.
    client_request = models.ForeignKey(
        ClientRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="records", editable=False
    )

    # When transient failures stop being retried: UPLOAD_RETRY_HORIZON_S after the first one.
    gives_up_at = models.DateTimeField(_("放弃重试时间"), null=True, blank=True)
    # Scheduling: when the row next needs a task (NULL = a task is on its way or none is needed).
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), null=True, blank=True, db_index=True)
    enqueued_at = models.DateTimeField(_("入队时间"), null=True, blank=True)
    # The lease of the worker that moved the row to `uploading`, and who that worker is
    # ("host:pid"), so that a restarted cluster can take back the rows of its dead workers at once.
    lease_token = models.CharField(max_length=32, null=True, blank=True)
    lease_holder = models.CharField(max_length=100, null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("租约到期"), null=True, blank=True)
    last_attempt_ms = models.PositiveIntegerField(_("上次耗时(毫秒)"), null=True, blank=True)

    uploading_at = models.DateTimeField(_("开始上传时间"), null=True, blank=True)
    succeeded_at = models.DateTimeField(_("成功时间"), null=True, blank=True)
    failed_at = models.DateTimeField(_("失败时间"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = UploadRecordQuerySet.as_manager()

    class Meta:
        db_table = "upload_history"
        verbose_name = _("上传记录")
        verbose_name_plural = _("上传记录")
        ordering = ["-upload_time", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="upload_status_next_idx")]
        permissions = [("create_upload_link", _("可以生成上传链接（二维码）"))]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_finished(self) -> bool:
        return self.status in (UploadStatus.SUCCESS, UploadStatus.FAILED)


class UploadSlot(models.Model):
    """One of YONYOU_MAX_CONCURRENCY permits to talk to Yonyou, claimed with a conditional UPDATE.

    Lives in the database so the cap holds across every worker on every host; a lease frees the
    slot of a worker that died holding it.
    """

    number = models.PositiveIntegerField(primary_key=True)
    holder_token = models.CharField(max_length=32, null=True, blank=True)
    holder = models.CharField(max_length=100, null=True, blank=True)  # "host:pid" of the worker
    record_id = models.BigIntegerField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "upload_slot"
        verbose_name = _("上传并发槽位")
        verbose_name_plural = _("上传并发槽位")

    def __str__(self) -> str:
        return f"slot {self.number}"


class WorkerHeartbeat(models.Model):
    """A live worker process writes its beat every UPLOAD_HEARTBEAT_S. One silent for
    UPLOAD_HEARTBEAT_DEAD_S is gone, whatever host it ran on: the workers of every host read these
    rows, so what it held is taken back within seconds rather than after its leases."""

    holder = models.CharField(max_length=100, primary_key=True)  # "host:pid", as on leases and slots
    beat_at = models.DateTimeField()

    class Meta:
        db_table = "upload_worker_heartbeat"
        verbose_name = _("上传进程心跳")
        verbose_name_plural = _("上传进程心跳")

    def __str__(self) -> str:
        return self.holder
