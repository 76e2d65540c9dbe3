"""Scheduler pages: the staff dashboard, and `/metrics` for Prometheus scrapers."""

import hmac

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from alerts import prometheus, registry, selectors, services
from alerts.cron_words import describe_cron
from alerts.models import JobRun
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
        "open_run": _("查看运行记录"),
        "next_run": _("下次运行：%s"),
        "statuses": {status.value: str(status.label) for status in JobRun.Status},
        # The admin page of a run; the script puts the run's id in place of 0.
        "run_url": reverse("admin:alerts_jobrun_change", args=[0]),
    }


@login_required
@require_POST
def edit_job_schedule(request, job_id: str):
    """The page's form for a job's cron and on/off switch: the same rule and service as
    `PATCH /api/v1/scheduler/jobs/<id>` (staff), answered with a message saying what the cron means."""
    if not is_staff_member(request.user):
        raise PermissionDenied
    try:
        registry.get_job(job_id)
    except registry.UnknownJob:
        raise Http404 from None
    cron = request.POST.get("cron")
    enabled = {"1": True, "0": False}.get(request.POST.get("enabled", ""))
    back = reverse("scheduler") + f"#job-{job_id}"
    if cron is None and enabled is None:
        messages.error(request, _("请提供 cron 或 enabled"))
        return redirect(back)
    try:
        row = services.update_job_schedule(job_id=job_id, cron=cron, enabled=enabled, user=request.user)
    except services.InvalidCron as exc:
        messages.error(request, f"{job_id}：{exc}")
        return redirect(back)
    state = _("已启用") if row.schedule.repeats != 0 else _("已停用")
    messages.success(
        request,
        _("%(job)s：%(words)s（%(cron)s），%(state)s")
        % {"job": job_id, "words": describe_cron(row.schedule.cron), "cron": row.schedule.cron, "state": state},
    )
    return redirect(back)


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
