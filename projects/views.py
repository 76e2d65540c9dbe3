"""The customer's page of one project, reached through a customer link (`/p/<token>/`)."""

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from projects import links, reads, selectors
from projects.models import ProjectSyncConfig

REFUSED_STATUS = {links.EXPIRED: 410, links.REVOKED: 410, links.INVALID: 404}


def _refused(request, state: str):
    return render(request, "projects/link_refused.html", {"state": state}, status=REFUSED_STATUS.get(state, 404))


def _updated_words(fetched_at, config: ProjectSyncConfig) -> str:
    if config.time_display == ProjectSyncConfig.TimeDisplay.ABSOLUTE:
        from django.utils.dateformat import format as date_format

        return _("数据更新于 %(time)s") % {"time": date_format(timezone.localtime(fetched_at), config.time_format)}
    minutes = max(0, int((timezone.now() - fetched_at).total_seconds() // 60))
    if minutes < 1:
        return _("数据更新于刚刚")
    if minutes < 60:
        return _("数据更新于 %(n)s 分钟前") % {"n": minutes}
    if minutes < 24 * 60:
        return _("数据更新于 %(n)s 小时前") % {"n": minutes // 60}
    return _("数据更新于 %(n)s 天前") % {"n": minutes // (24 * 60)}


@require_GET
def customer_page(request, token: str):
    check = links.check_token(token)
    if not check.valid:
        return _refused(request, check.state)
    project = check.link.project
    links.note_use(check.link)
    try:
        read = reads.read_project(
            source=project.source, remote_id=project.remote_id, parts=selectors.CUSTOMER_PARTS, loaded=project
        )
    except (reads.ProjectMissing, reads.ProjectUnavailable):
        return render(request, "projects/link_refused.html", {"state": "unavailable"}, status=503)
    if read.project.deleted_at is not None:
        return _refused(request, "deleted")
    config = ProjectSyncConfig.load()
    context = {
        "project": read.project,
        "stale": read.stale or request.GET.get("stale") == "1",
        "updated_words": _updated_words(read.project.fetched_at, config),
        "refresh_url": reverse("projects:customer-refresh", args=[token]),
        "milestones": list(read.project.milestones.all()),
        "payment_plans": list(read.project.payment_plans.all()),
    }
    return render(request, "projects/customer.html", context)


@require_POST
def customer_refresh(request, token: str):
    """The page's refresh button: a forced sync of this one project, then the page again."""
    check = links.check_token(token)
    if not check.valid:
        return _refused(request, check.state)
    project = check.link.project
    page = reverse("projects:customer-page", args=[token])
    try:
        read = reads.read_project(source=project.source, remote_id=project.remote_id, force_sync=True)
    except (reads.ProjectMissing, reads.ProjectUnavailable):
        return HttpResponseRedirect(f"{page}?stale=1")
    return HttpResponseRedirect(f"{page}?stale=1" if read.stale else page)
