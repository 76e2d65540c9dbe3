"""The staff page of the sync app: start, watch, cancel and retry batches; see each day's status."""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from config.permissions import is_staff_member
from sync import selectors
from sync.documents import DOCUMENT_SPECS
from sync.models import DayStatus, SyncDay


def document_links(day: SyncDay) -> list[dict]:
    """Each document type the day stored, linked to its admin list drilled down to that date."""
    on_the_day = urlencode(_date_drilldown(day.sync_date))
    links = []
    for spec in DOCUMENT_SPECS:
        count = (day.document_counts or {}).get(spec.doc_type, 0)
        if count:
            opts = spec.model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?" + on_the_day
            links.append({"label": opts.verbose_name, "count": count, "url": url})
    return links


def _date_drilldown(day: date) -> dict:
    # The admin's date hierarchy (date_hierarchy = "business_date") reads these three parameters.
    return {"business_date__year": day.year, "business_date__month": day.month, "business_date__day": day.day}


@login_required
def sync_page(request):
    if not is_staff_member(request.user):
        raise PermissionDenied
    status = request.GET.get("status", "")
    if status not in DayStatus.values:
        status = ""
    active = selectors.active_batch()
    yesterday = timezone.localdate() - timedelta(days=1)
    client_config = {
        "activeBatchId": active.pk if active else None,
        "urls": {
            "startBatch": reverse("sync-status-sync-batch"),
            "batch": reverse("sync-batch", args=[0]),
        },
        "pollMs": 2000,
        "text": {
            "starting": _("正在提交……"),
            "failed": _("操作失败"),
            "network": _("网络错误，请稍后重试"),
            "days": _("天"),
            "records": _("条记录"),
            "eta": _("预计剩余 %(seconds)s 秒"),
            "done": _("完成：批次 #%(id)s %(status)s"),
        },
    }
    return render(
        request,
        "sync/sync.html",
        {
            "active": active,
            "active_days": active.days.all() if active else [],
            "batches": selectors.recent_batches(),
            "days": [(day, document_links(day)) for day in selectors.recent_days(status=status)],
            "status": status,
            "statuses": DayStatus.choices,
            "max_days": settings.SYNC_MAX_BATCH_DAYS,
            "default_date": yesterday,
            "client_config": client_config,
        },
    )
