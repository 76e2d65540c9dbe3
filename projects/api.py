"""REST API of the projects app, on the seed's paths and envelope (`{"status": "success", "data"}`).

A project is read by its customer through a link's `token`, or by staff with their session or API
token; field users and anonymous callers get nothing of any project. What each answer looks like
is documented in `api_schema`.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import StandardPagination
from config.permissions import IsStaffMember, is_staff_member
from config.schema import ErrorSerializer
from projects import config, links, reads, selectors
from projects.api_schema import (
    LINK_CHECK,
    LINK_CREATED,
    LINK_REVOKED,
    PROJECT_DETAIL,
    PROJECT_PAGE,
    SYNC_RUN_PAGE,
    SYNC_SETTINGS,
    SYNC_STARTED,
    TIME_DISPLAY,
)
from projects.models import CustomerLink
from projects.presenters import change_payload, link_payload, project_payload, project_summary, sync_run_payload

TRUE = {"1", "true", "yes", "on"}


def envelope(data, *, http_status: int = status.HTTP_200_OK) -> Response:
    return Response({"status": "success", "data": data}, status=http_status)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUE


def _body(request) -> dict:
    """The request body as an object (JSON or form); a JSON list or scalar is a 400, not a 500."""
    if not isinstance(request.data, dict):
        raise exceptions.ValidationError(_("请求体必须是一个 JSON 对象"))
    return request.data


def _source(request) -> str:
    return request.query_params.get("source") or _body(request).get("source") or "main"


class RemoteUnavailable(exceptions.APIException):
    """The project system cannot be reached and nothing is cached: the upstream's outage, a 503."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "remote_unavailable"


class LinkRefusedError(exceptions.PermissionDenied):
    default_code = "link_invalid"


LINK_MESSAGES = {
    links.EXPIRED: ("link_expired", gettext_lazy("链接已过期，请联系项目负责人获取新链接")),
    links.REVOKED: ("link_revoked", gettext_lazy("链接已被撤销，请联系项目负责人")),
    links.INVALID: ("link_invalid", gettext_lazy("链接无效")),
}


def _customer_link(token: str, *, source: str, remote_id: str) -> CustomerLink:
    check = links.check_token(token)
    if not check.valid:
        code, message = LINK_MESSAGES[check.state]
        raise LinkRefusedError(str(message), code=code)
    if (check.link.project.source, check.link.project.remote_id) != (source, remote_id):
        raise LinkRefusedError(_("该链接不属于这个项目"), code="link_other_project")
    return check.link


class ProjectDetailView(APIView):
    # A customer link or a staff member; checked in get() because the token is in the query.
    permission_classes = [AllowAny]

    @extend_schema(
        summary="One project: cache first; force_sync=true (or use_cache=false) reads the remote; "
        "stale: true when the remote failed and the cached copy is answered",
        parameters=[
            OpenApiParameter("token", str, description="a customer link's token"),
            OpenApiParameter("use_cache", bool),
            OpenApiParameter("force_sync", bool),
            OpenApiParameter("source", str, description="remote source (default main)"),
        ],
        responses={
            200: PROJECT_DETAIL,
            403: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def get(self, request, project_id: str):
        source = request.query_params.get("source") or "main"
        token = request.query_params.get("token")
        loaded = None
        if token:
            link = _customer_link(token, source=source, remote_id=project_id)
            links.note_use(link)
            for_customer, loaded = True, link.project
        elif is_staff_member(request.user):
            for_customer = False
        elif not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        else:
            raise exceptions.PermissionDenied(_("只有员工或持客户链接者可以查看项目"))
        force = _flag(request.query_params.get("force_sync")) or (
            request.query_params.get("use_cache", "true").strip().lower() in {"0", "false", "no", "off"}
        )
        try:
            read = reads.read_project(
                source=source,
                remote_id=project_id,
                force_sync=force,
                parts=selectors.CUSTOMER_PARTS if for_customer else selectors.STAFF_PARTS,
                loaded=loaded,
            )
        except reads.ProjectMissing:
            raise exceptions.NotFound(_("没有这个项目：%(id)s") % {"id": project_id}) from None
        except reads.ProjectUnavailable as exc:
            return Response(
                {
                    "status": "error",
                    "code": "remote_unavailable",
                    "message": _("项目系统暂时无法访问，且没有缓存的数据，请稍后再试"),
                    "reason": exc.error.code,
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        if read.project.deleted_at is not None and for_customer:
            raise exceptions.NotFound(_("该项目已在项目系统中删除"))
        payload = project_payload(read.project, for_customer=for_customer)
        payload.update(stale=read.stale, stale_reason=read.stale_reason)
        return envelope(payload)


class VerifyAccessView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        summary="Whether a customer link is valid, expired or revoked, and for which project",
        parameters=[OpenApiParameter("token", str, required=True, description="a customer link's token")],
        responses=LINK_CHECK,
    )
    def get(self, request, project_id: str):
        token = request.query_params.get("token")
        if not token:
            raise exceptions.ValidationError({"token": [_("请提供 token")]})
        check = links.check_token(token)
        state = check.state
        link = check.link
        if link is not None and link.project.remote_id != project_id:
            state = "other_project"
        return envelope(
            {
                "valid": state == links.VALID,
                "state": state,
                "project_id": link.project.remote_id if link and state != "other_project" else None,
                "project_name": link.project.name if link and state == links.VALID else None,
                "expires_at": link.expires_at if link and state != "other_project" else None,
            }
        )


class ProjectListView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="Cached projects (staff), paged; filters type, status, customer, owner, changed_since",
        operation_id="projects_list",
        parameters=[
            OpenApiParameter("type", str),
            OpenApiParameter("status", str),
            OpenApiParameter("customer", str),
            OpenApiParameter("owner", str),
            OpenApiParameter("changed_since", str, description="ISO 8601 time"),
        ],
        responses=PROJECT_PAGE,
    )
    def get(self, request):
        params = request.query_params
        changed_since = None
        if params.get("changed_since"):
            changed_since = parse_datetime(params["changed_since"].replace(" ", "+"))
            if changed_since is None:
                raise exceptions.ValidationError({"changed_since": [_("时间格式无效，应为 ISO 8601")]})
        projects = selectors.project_list(
            project_type=params.get("type", ""),
            status=params.get("status", ""),
            customer=params.get("customer", ""),
            owner=params.get("owner", ""),
            changed_since=changed_since,
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(projects, request, view=self)
        return envelope(
            {
                "count": paginator.page.paginator.count,
                "page": paginator.page.number,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "records": [project_summary(project) for project in page],
            }
        )


class SyncStartView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="Start a project sync now (202 with its run id; 200 with the run already under way)",
        responses={200: SYNC_STARTED, 202: SYNC_STARTED},
        request=OpenApiTypes.OBJECT,
    )
    def post(self, request):
        from alerts import services as scheduler

        active = selectors.active_sync_run()
        if active is not None:
            return envelope({"run_id": active.pk, "status": active.status, "already_running": True})
        run = scheduler.trigger_job(job_id=selectors.SYNC_JOB_ID, user=request.user)
        return envelope(
            {"run_id": run.pk, "status": run.status, "already_running": False}, http_status=status.HTTP_202_ACCEPTED
        )


# Changes listed per run in the history; `changes_total` counts them all.
HISTORY_CHANGES_DEFAULT = 100
HISTORY_CHANGES_MAX = 5000


class SyncHistoryView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="Project sync runs, newest first, with the projects each changed (field-level diff)",
        parameters=[
            OpenApiParameter(
                "changes",
                int,
                description="changes listed per run (default 100, at most 5000); changes_total counts all",
            )
        ],
        responses=SYNC_RUN_PAGE,
    )
    def get(self, request):
        raw = request.query_params.get("changes", str(HISTORY_CHANGES_DEFAULT))
        if not raw.isdigit() or int(raw) > HISTORY_CHANGES_MAX:
            raise exceptions.ValidationError(
                {"changes": [_("应为 0 到 %(max)s 之间的整数") % {"max": HISTORY_CHANGES_MAX}]}
            )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.sync_history(), request, view=self)
        changes = selectors.first_changes(page, per_run=int(raw))
        return envelope(
            {
                "count": paginator.page.paginator.count,
                "page": paginator.page.number,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "records": [
                    {
                        **sync_run_payload(run, changes=[change_payload(c) for c in changes[run.pk]]),
                        "changes_total": run.changes_total,
                    }
                    for run in page
                ],
            }
        )


class LinkCreateView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="Create a customer link to one project (201 with id, token, url, expiry, QR code url)",
        responses={
            201: LINK_CREATED,
            503: ErrorSerializer,
        },
        request=OpenApiTypes.OBJECT,
    )
    def post(self, request, project_id: str):
        source = _source(request)
        days = _body(request).get("days")
        if days is not None:
            try:
                days = int(days)
            except (TypeError, ValueError):
                raise exceptions.ValidationError({"days": [_("有效天数应为整数")]}) from None
        try:
            read = reads.read_project(source=source, remote_id=project_id)
        except reads.ProjectMissing:
            raise exceptions.NotFound(_("没有这个项目：%(id)s") % {"id": project_id}) from None
        except reads.ProjectUnavailable:
            raise RemoteUnavailable(_("项目系统暂时无法访问，请稍后再试")) from None
        try:
            link = links.create_link(
                project=read.project, user=request.user, days=days, note=str(request.data.get("note") or "")
            )
        except links.LinkRefused as exc:
            raise exceptions.ValidationError({"days": [str(exc)]}) from None
        return envelope(link_payload(link, request), http_status=status.HTTP_201_CREATED)


class LinkDetailView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="Revoke a customer link (its page then says so and shows nothing)",
        responses={200: LINK_REVOKED, 409: ErrorSerializer},
    )
    def delete(self, request, link_id: int):
        link = get_object_or_404(CustomerLink.objects.select_related("project"), pk=link_id)
        try:
            link = links.revoke_link(link=link, user=request.user)
        except links.LinkNotRevocable as exc:
            return Response(
                {"status": "error", "code": "already_revoked", "message": str(exc)}, status=status.HTTP_409_CONFLICT
            )
        return envelope(link_payload(link, request, with_token=False))


class LinkQrView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="The QR code (SVG) of a customer link, to print or send",
        responses={(200, "image/svg+xml"): OpenApiTypes.STR},
    )
    def get(self, request, link_id: int):
        from django.http import HttpResponse

        link = get_object_or_404(CustomerLink, pk=link_id)
        url = request.build_absolute_uri(links.customer_path(link))
        return HttpResponse(links.qr_svg(url), content_type="image/svg+xml")


class ProjectSyncConfigView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="The project sync's settings: cron (and in words), enabled, types, sources, notifications",
        responses=SYNC_SETTINGS,
    )
    def get(self, request):
        return envelope(config.sync_config())

    @extend_schema(
        summary="Change the project sync's settings at runtime (validated; reaches the scheduler)",
        responses=SYNC_SETTINGS,
        request=OpenApiTypes.OBJECT,
    )
    def post(self, request):
        data = _body(request)
        allowed = {"cron", "enabled", "project_types", "sources", "notify_status_change", "notify_channels"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise exceptions.ValidationError({unknown[0]: [_("未知的设置项")]})
        changes = {}
        for name in ("enabled", "notify_status_change"):
            if name in data:
                if not isinstance(data[name], bool):
                    raise exceptions.ValidationError({name: [_("应为 true 或 false")]})
                changes[name] = data[name]
        for name in ("project_types", "sources", "notify_channels"):
            if name in data:
                if not isinstance(data[name], list) or not all(isinstance(item, str) for item in data[name]):
                    raise exceptions.ValidationError({name: [_("应为字符串列表")]})
                changes[name] = data[name]
        if "cron" in data:
            if not isinstance(data["cron"], str):
                raise exceptions.ValidationError({"cron": [_("cron 应为字符串")]})
            changes["cron"] = data["cron"]
        try:
            return envelope(config.update_sync_config(user=request.user, **changes))
        except config.InvalidConfig as exc:
            raise exceptions.ValidationError({exc.field: [exc.message]}) from None


class TimeDisplayConfigView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="How times are shown on the customer page: relative or absolute, and the format",
        responses=TIME_DISPLAY,
    )
    def get(self, request):
        return envelope(config.time_display())

    @extend_schema(
        summary="Change how times are shown on the customer page",
        responses=TIME_DISPLAY,
        request=OpenApiTypes.OBJECT,
    )
    def post(self, request):
        data = _body(request)
        mode, time_format = data.get("mode"), data.get("format")
        if mode is None and time_format is None:
            raise exceptions.ValidationError(_("请提供 mode 或 format"))
        try:
            return envelope(config.update_time_display(mode=mode, time_format=time_format, user=request.user))
        except config.InvalidConfig as exc:
            raise exceptions.ValidationError({exc.field: [exc.message]}) from None
