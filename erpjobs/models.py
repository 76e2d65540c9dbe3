"""Daily reports built from the synced ERP data: one row per kind and day, with what they said."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyReport(models.Model):
    class Kind(models.TextChoices):
        SHORTAGE = "shortage", _("缺料日报")
        PRODUCTION = "production", _("生产日报")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    report_date = models.DateField(_("日期"))
    # What the message listed, by kind. Shortage: {"shortages": [{"key", "title", "severity"}…],
    # "unkitted": […], "kitting": {…}}; production: {"products": […], "late_orders": […],
    # "totals": {…}} (erpjobs.selectors.production_of_day). `report_date` is the day reported on.
    content = models.JSONField(_("内容"), default=dict)
    markdown = models.TextField(_("消息正文"), blank=True)
    generated_at = models.DateTimeField(_("生成时间"))
    notification = models.ForeignKey(
        "alerts.Notification", verbose_name=_("通知"), null=True, blank=True, on_delete=models.SET_NULL
    )
    # Why nothing was sent (e.g. no robot configured): a report is never silently unsent.
    send_error = models.CharField(_("未发送原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("日报")
        verbose_name_plural = _("日报")
        ordering = ["-report_date", "kind"]
        constraints = [models.UniqueConstraint(fields=["kind", "report_date"], name="erpjobs_one_report_per_day")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.report_date}"


class KitRate(models.Model):
    """The kit rate of one production order on the day `daily_kit_check` looked at it: one row per
    order starting within the window, kitted or not, so rates can be queried and charted per day."""

    check_date = models.DateField(_("检查日期"), db_index=True)
    order_code = models.CharField(_("生产订单"), max_length=64)
    product_name = models.CharField(_("产品"), max_length=200, blank=True)
    start_date = models.DateField(_("开工日期"))
    lines = models.PositiveIntegerField(_("用料行数"))
    covered_lines = models.PositiveIntegerField(_("已齐套行数"))
    rate = models.DecimalField(_("齐套率（%）"), max_digits=5, decimal_places=1)
    # What the uncovered lines lack, as the alert's detail says it.
    missing = models.JSONField(_("缺料明细"), default=list, blank=True)
    checked_at = models.DateTimeField(_("检查时间"))

    class Meta:
        verbose_name = _("齐套率")
        verbose_name_plural = _("齐套率")
        ordering = ["-check_date", "order_code"]
        constraints = [
            models.UniqueConstraint(fields=["check_date", "order_code"], name="erpjobs_one_kit_rate_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.order_code} {self.check_date} {self.rate}%"
