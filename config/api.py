"""API conventions shared by every app: the error body and the paginator."""

import math

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def _first_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        message = _first_message(value)
        return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
    return str(detail)


def standard_exception_handler(exc, context):
    """Every API error has one shape: {"status": "error", "code", "message", "errors"?}.

    `status`/`message` match the envelope that the seed APIs already return to integrators.
    """
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = {
            "status": "error",
            "code": "invalid",
            "message": _first_message(exc.detail) or _("请求参数无效"),
            "errors": exc.detail,
        }
    elif isinstance(exc, exceptions.Throttled):
        seconds = max(1, math.ceil(exc.wait or 1))
        body = {
            "status": "error",
            "code": "throttled",
            "message": _("请求过于频繁，请 %(seconds)d 秒后再试") % {"seconds": seconds},
            "retry_after_s": seconds,
        }
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        body = {
            "status": "error",
            "code": getattr(detail, "code", None) or exc.default_code,
            "message": _first_message(detail),
        }
    else:  # Http404 / PermissionDenied from Django, already converted by DRF
        body = {"status": "error", "code": "error", "message": _first_message(response.data)}
    return Response(body, status=response.status_code, headers=_auth_headers(response))


def _auth_headers(response) -> dict:
    return {key: response[key] for key in ("WWW-Authenticate", "Retry-After") if key in response}
