"""The OpenAPI schema lists every answer the code can give, not only the happy one.

drf-spectacular documents the success response of each operation. The error answers follow from
how the operation is built (the same for every app), so they are added here once rather than on
every view: a client generated from the schema, and schemathesis in CI, then know them all.
An answer specific to one operation (409 for a business conflict, 413) is declared on its view
with `ErrorSerializer`.
"""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer):
    """The one error body of the API (config.api.standard_exception_handler)."""

    status = serializers.CharField(help_text="always error")
    code = serializers.CharField()
    message = serializers.CharField()
    errors = serializers.JSONField(required=False, help_text="field → messages, or a list of messages")

    class Meta:
        ref_name = "Error"


ERROR_DESCRIPTIONS = {
    "400": "Invalid input (query, body or paging); nothing was changed",
    "401": "No credentials, or a token/session that is not valid",
    "403": "Authenticated, but not allowed to do this (or a missing CSRF token with a session)",
    "404": "No such object, or a page past the last one",
    "415": "The body's Content-Type is not one this operation reads",
    "429": "Too many requests; retry after the Retry-After header's seconds",
}


class StandardAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error_ref = self.resolve_serializer(ErrorSerializer(), "response").ref
        responses = operation.setdefault("responses", {})
        for code in self.error_status_codes(operation):
            responses.setdefault(
                code, {"description": ERROR_DESCRIPTIONS[code], "content": {"application/json": {"schema": error_ref}}}
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def error_status_codes(self, operation) -> list[str]:
        """The error answers that follow from the operation's inputs, authentication and throttles."""
        places = {parameter.get("in") for parameter in operation.get("parameters", [])}
        has_body = "requestBody" in operation
        codes = []
        if has_body or "query" in places:
            codes.append("400")
        if self.view.get_authenticators():
            codes.append("401")
        if any(not isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            codes.append("403")
        if "path" in places or (self._is_list_view() and self._get_paginator()):
            codes.append("404")
        if has_body:
            codes.append("415")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        # A serializer that needs at least one of some optional fields (a PATCH of nothing is
        # refused) says so with `required_any = ("a", "b")`; the schema states it as anyOf.
        required_any = getattr(serializer, "required_any", ())
        if direction == "request" and required_any:
            schema["anyOf"] = [{"required": [name]} for name in required_any]
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # A required text field is stripped before it is checked, so "  " is refused like "":
        # the schema says a non-space character is needed (minLength alone would allow "  ").
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and not field.allow_blank
            and field.trim_whitespace
            and "pattern" not in schema
        ):
            schema["pattern"] = r"\S"
        return schema
