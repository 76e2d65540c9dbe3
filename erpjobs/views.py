"""The staff reports page: the stored daily reports of the last weeks with their charts, and each
report as an xlsx."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from config.permissions import is_staff_member
from erpjobs import report_xlsx, selectors
from erpjobs.models import DailyReport

PAGE_DAYS = 30


def _staff_only(request) -> None:
    if not is_staff_member(request.user):
        raise PermissionDenied


@login_required
@require_safe
def reports_page(request):
    _staff_only(request)
    reports = selectors.recent_reports(days=PAGE_DAYS, today=timezone.localdate())
    return render(
        request,
        "erpjobs/reports.html",
        {"reports": reports, "charts": selectors.report_charts(reports), "days": PAGE_DAYS},
    )


@login_required
@require_safe
def report_download(request, report_id: int):
    _staff_only(request)
    report = get_object_or_404(DailyReport, pk=report_id)
    response = HttpResponse(
        report_xlsx.report_xlsx(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{report_xlsx.report_filename(report)}"'
    return response
