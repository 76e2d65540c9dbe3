"""The staff page of the sync app: start, watch, cancel and retry batches; see each day's status."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from config.permissions import is_staff_member
from sync import selectors
from sync.models import DayStatus


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
            "finished": _("批次已结束，正在刷新……"),
        },
    }
    return render(
        request,
        "sync/sync.html",
        {
            "active": active,
            "active_days": active.days.all() if active else [],
            "batches": selectors.recent_batches(),
            "days": selectors.recent_days(status=status),
            "status": status,
            "statuses": DayStatus.choices,
            "max_days": settings.SYNC_MAX_BATCH_DAYS,
            "default_date": yesterday,
            "client_config": client_config,
        },
    )
