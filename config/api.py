"""API conventions shared by every app: the error body and the paginator."""

import math

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler


def positive_int_param(request, name: str, default: int) -> int:
    """A paging parameter as a positive integer, or a 400 naming it (the schema says `minimum: 1`)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # ASCII digits only: int() would also take " 5", "+5" and full-width "５".
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise exceptions.ValidationError({name: [_("必须是大于 0 的整数")]})
    return int(raw)


class StandardPagination(PageNumberPagination):
    """Page numbers and sizes are positive integers; anything else is a 400, not silently page 1.

    A page past the last one stays DRF's 404. `page_size` above 200 is served as 200.
    """

    page_size_query_param = "page_size"
    max_page_size = 200
    last_page_strings = ()  # `?page=last` is not an integer, as the schema says

    def get_page_number(self, request, paginator):
        return positive_int_param(request, self.page_query_param, 1)

    def get_page_size(self, request):
        return min(positive_int_param(request, self.page_size_query_param, self.page_size), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Number of results per page; above {self.max_page_size} counts as {self.max_page_size}."
                )
        return parameters


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
