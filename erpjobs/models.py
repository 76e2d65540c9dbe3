"""Daily reports built from the synced ERP data: one row per kind and day, with what they said."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyReport(models.Model):
    class Kind(models.TextChoices):
        SHORTAGE = "shortage", _("缺料日报")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    report_date = models.DateField(_("日期"))
    # {"shortages": [{"key", "title", "severity"}…], "unkitted": […]}: what the message listed.
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
