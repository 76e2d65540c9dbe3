"""The uploads app's alert rules (autodiscovered by alerts.alerting.rules): a document whose photo
failed for good. Evaluated every minute by `check_system_alerts`, and raised at once by the upload
that fails (`upload_failed_for_good`, called from `services`)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.alerting.lifecycle import Firing, raise_alert
from alerts.alerting.messages import absolute_url, in_site_language
from alerts.alerting.models import Severity
from alerts.alerting.rules import declare_rule
from uploads.models import UploadRecord, UploadStatus

UPLOAD_FAILED = declare_rule(
    id="upload_failed",
    name=gettext_lazy("单据照片上传失败"),
    severity=Severity.WARNING,
    category="预警",
    advice=gettext_lazy("在上传记录中查看错误原因，处理后点“重试”"),
    reads=["upload_history"],
    evaluate=lambda now: failed_uploads(),
)


def _upload_firing(business_id: str, doc_number: str, failures: int, error: str) -> Firing:
    return Firing(
        key=business_id,
        title=_("单据 %(doc)s 有 %(count)s 张照片上传失败") % {"doc": doc_number or business_id, "count": failures},
        detail=error[:1000],
        labels={"document": business_id},
        link=absolute_url(reverse("uploads:history-page", args=[business_id])),
    )


def failed_uploads() -> list[Firing]:
    """Documents with at least one photo in `failed` (retries spent or refused for good)."""
    documents: dict[str, dict] = {}
    failed = UploadRecord.objects.alive().filter(status=UploadStatus.FAILED).order_by("failed_at", "pk")
    for row in failed.values("business_id", "doc_number", "error_code", "error_message"):
        document = documents.setdefault(row["business_id"], {"count": 0})
        document.update(row, count=document["count"] + 1)  # the latest failure's error wins
    return [
        _upload_firing(
            business_id,
            row["doc_number"],
            row["count"],
            f"[{row['error_code'] or ''}] {row['error_message'] or ''}",
        )
        for business_id, row in documents.items()
    ]


@in_site_language
def upload_failed_for_good(*, record_id: int) -> None:
    """Called by uploads when a record ends failed: raise its document's alert now, not at the
    next evaluation."""
    record = UploadRecord.objects.alive().filter(pk=record_id, status=UploadStatus.FAILED).first()
    if record is None:
        return
    failures = UploadRecord.objects.alive().filter(business_id=record.business_id, status=UploadStatus.FAILED)
    firing = _upload_firing(
        record.business_id,
        record.doc_number,
        failures.count(),
        f"[{record.error_code or ''}] {record.error_message or ''}",
    )
    raise_alert(
        rule=UPLOAD_FAILED.id,
        key=firing.key,
        title=firing.title,
        detail=firing.detail,
        labels=firing.labels,
        link=firing.link,
    )
