"""Scheduler pages: the staff dashboard, and `/metrics` for Prometheus scrapers."""

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from alerts import prometheus, selectors, services
from config.permissions import is_staff_member


@login_required
@require_safe
def scheduler_page(request):
    if not is_staff_member(request.user):
        raise PermissionDenied
    now = timezone.now()
    jobs = selectors.jobs_overview(now)
    job_ids = [row["id"] for row in jobs]
    chosen = request.GET.get("job")
    if chosen not in job_ids:
        chosen = next((row["id"] for row in jobs if row["last_run"]), job_ids[0] if job_ids else "")
    return render(
        request,
        "alerts/scheduler.html",
        {
            "jobs": jobs,
            "status": selectors.scheduler_status(now, overview=jobs),
            "failures": selectors.recent_failures(limit=20),
            "chosen_job": chosen,
            "may_start_runs": services.may_start_runs(request.user),
            "chart_labels": _chart_labels(),
        },
    )


def _chart_labels() -> dict:
    """Texts the page's script shows, translated here (`%s` is filled in by the script)."""
    return {
        "seconds": _("秒"),
        "no_runs": _("这个任务还没有运行记录"),
        "showing": _("最近 %s 次运行的耗时"),
        "chart_title": _("运行耗时（秒）随时间变化"),
        "queued": _("已排队：运行 #%s"),
        "run_state": _("运行 #%s："),
        "failed": _("请求失败，请稍后再试"),
    }


@require_safe
def metrics(request):
    """Prometheus exposition for scrapers presenting `Authorization: Bearer <METRICS_BEARER_TOKEN>`.
    Without a configured token the endpoint does not exist (404)."""
    expected = settings.METRICS_BEARER_TOKEN
    if not expected:
        raise Http404
    scheme, _sep, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        response = HttpResponse("401 Unauthorized\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(prometheus.exposition(), content_type=prometheus.CONTENT_TYPE)
