from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from config.health import health_report
from config.permissions import is_field_member, is_staff_member

HEALTH_SCHEMA = inline_serializer(
    "Health",
    {
        "status": serializers.CharField(),
        "database": serializers.CharField(),
        "broker": serializers.CharField(),
        "cluster": serializers.CharField(),
        "detail": serializers.DictField(),
    },
)


@extend_schema(summary="Liveness and readiness", responses={200: HEALTH_SCHEMA, 503: HEALTH_SCHEMA})
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def health(request):
    healthy, body = health_report()
    return Response(body, status=200 if healthy else 503)


@login_required
def home(request):
    return render(
        request,
        "home.html",
        {"is_staff_member": is_staff_member(request.user), "is_field_member": is_field_member(request.user)},
    )


@login_required
def landing(request):
    """Where signing in leads (LOGIN_REDIRECT_URL, and `/` without a QR query): field users to the
    upload page, their only work; staff, and accounts without a group, to /home/, which lists the
    staff pages or says that no permission has been given yet."""
    if is_field_member(request.user) and not is_staff_member(request.user):
        return redirect("uploads:upload-page")
    return redirect("home")


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    """An API client gets the API's error body (JSON), not the HTML error page."""
    if _is_api(request):
        return JsonResponse(
            {"status": "error", "code": "bad_request", "message": _("请求无效")},
            status=400,
            json_dumps_params={"ensure_ascii": False},
        )
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    """An unknown /api/ URL (e.g. a non-numeric id) answers with the API's JSON error body."""
    if _is_api(request):
        return JsonResponse(
            {"status": "error", "code": "not_found", "message": _("未找到")},
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )
    return defaults.page_not_found(request, exception)
