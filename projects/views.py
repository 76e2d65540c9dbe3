"""The projects app's pages: the customer's page of one project, reached through a customer link
(`/p/<token>/`), the duty tasks page (`/duty-tasks/`) and the staff project dashboard
(`/projects/dashboard/`)."""

from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.permissions import is_field_member, is_staff_member
from projects import dashboard, duty, links, reads, selectors
from projects.models import ProjectSyncConfig, ProjectType

DUTY_PAGE_SIZE = 100

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
    today = timezone.localdate()
    milestones = list(read.project.milestones.all())
    results = selectors.customer_results(project=read.project, milestones=milestones, today=today)
    first_day = today - timedelta(days=selectors.CUSTOMER_TREND_DAYS - 1)
    context = {
        "project": read.project,
        "stale": read.stale or request.GET.get("stale") == "1",
        "updated_words": _updated_words(read.project.fetched_at, config),
        "refresh_url": reverse("projects:customer-refresh", args=[token]),
        "milestones": milestones,
        "payment_plans": list(read.project.payment_plans.all()),
        "results": results,
        "progress_trend": dashboard.sparkline(
            results.progress_trend, first_day=first_day, days=selectors.CUSTOMER_TREND_DAYS
        ),
        "today": today,
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


def _day_from(request) -> date:
    raw = request.GET.get("day", "")
    if not raw:
        return timezone.localdate()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadFilter(_("日期格式应为 YYYY-MM-DD")) from None


class BadFilter(ValueError):
    """A page filter that cannot be read: a 400 with its Chinese message, nothing shown."""


def _bad_filter(request, exc: BadFilter):
    return render(request, "projects/bad_filter.html", {"message": str(exc)}, status=400)


@login_required
@require_GET
def duty_tasks_page(request):
    """A person's duty tasks of a day (their own: the remote member whose username is theirs);
    staff see everyone's and may filter by person."""
    staff = is_staff_member(request.user)
    if not staff and not is_field_member(request.user):
        raise PermissionDenied
    try:
        day = _day_from(request)
    except BadFilter as exc:
        return _bad_filter(request, exc)
    person = request.GET.get("person", "").strip() if staff else ""
    tasks = selectors.duty_tasks(day=day, username=None if staff else request.user.get_username(), person=person)
    page = Paginator(tasks, DUTY_PAGE_SIZE).get_page(request.GET.get("page"))
    keep = {"person": person} if person else {}
    return render(
        request,
        "projects/duty_tasks.html",
        {
            "day": day,
            "person": person,
            "is_staff_member": staff,
            "page": page,
            "previous_day": urlencode({**keep, "day": (day - timedelta(days=1)).isoformat()}),
            "next_day": urlencode({**keep, "day": (day + timedelta(days=1)).isoformat()}),
            "keep": urlencode({**keep, "day": day.isoformat()}),
        },
    )


@login_required
@require_POST
def duty_task_done(request, task_id: int):
    """Mark one's own duty task done (staff: anyone's); then the page of that day again."""
    staff = is_staff_member(request.user)
    if not staff and not is_field_member(request.user):
        raise PermissionDenied
    task = selectors.duty_task_for(task_id=task_id, username=None if staff else request.user.get_username())
    if task is None:
        raise Http404
    duty.mark_done(task_id=task.pk, user=request.user)
    return HttpResponseRedirect(f"{reverse('projects:duty-tasks')}?{urlencode({'day': task.day.isoformat()})}")


@login_required
@require_GET
def dashboard_page(request):
    """Staff and managers: every live project's health and progress with their trend, open
    alerts, overdue issues and payments due; filtered by type, owner and customer; paginated."""
    if not is_staff_member(request.user):
        raise PermissionDenied
    filters = {
        "project_type": request.GET.get("type", ""),
        "owner": request.GET.get("owner", "").strip(),
        "customer": request.GET.get("customer", "").strip(),
    }
    if filters["project_type"] and filters["project_type"] not in ProjectType.values:
        return _bad_filter(request, BadFilter(_("项目类型无效")))
    today = timezone.localdate()
    projects = selectors.project_list(**filters)  # live projects only
    page = Paginator(projects, dashboard.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = dashboard.rows_for(list(page.object_list), today=today)
    keep = {
        name: value
        for name, value in (
            ("type", filters["project_type"]),
            ("owner", filters["owner"]),
            ("customer", filters["customer"]),
        )
        if value
    }
    return render(
        request,
        "projects/dashboard.html",
        {
            "filters": filters,
            "types": ProjectType.choices,
            "page": page,
            "rows": rows,
            "today": today,
            "trend_days": dashboard.TREND_DAYS,
            "keep": urlencode(keep),
        },
    )
