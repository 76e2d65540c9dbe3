"""The OpenAPI schema lists every answer the code can give, not only the happy one.

drf-spectacular documents the success response of each operation. The error answers follow from
how the operation is built (the same for every app), so they are added here once rather than on
every view: a client generated from the schema, and schemathesis in CI, then know them all.
An answer specific to one operation (409 for a business conflict, 413) is declared on its view
with `ErrorSerializer`.
"""

import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
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


def envelope_of(serializer_class, name: str):
    """The OpenAPI shape of the seed's envelope {"status": "success", "data": <serializer_class>}."""
    return inline_serializer(
        name, {"status": serializers.CharField(help_text="always success"), "data": serializer_class()}
    )


def envelope_schema(name: str, fields: dict):
    """The OpenAPI shape of {"status": "success", "data": {...fields}}."""
    return inline_serializer(
        name,
        {"status": serializers.CharField(help_text="always success"), "data": inline_serializer(f"{name}Data", fields)},
    )


ERROR_DESCRIPTIONS = {
    "400": "Invalid input (query, body or paging); nothing was changed",
    "401": "No credentials, or a token/session that is not valid",
    "403": "Authenticated, but not allowed to do this (or a missing CSRF token with a session)",
    "404": "No such object, or a page past the last one",
    "414": "The request line (path and query) is longer than the server reads (8 KB); nothing was changed",
    "415": "The body's Content-Type is not one this operation reads",
    "429": "Too many requests; retry after the Retry-After header's seconds",
}


# The area (tag) of each path, by its prefix: the first that matches. The tags and their Chinese
# descriptions are listed in SPECTACULAR_SETTINGS["TAGS"].
AREAS = [
    ("/api/upload", "uploads"),
    ("/api/history/", "uploads"),
    ("/api/admin/", "uploads"),
    ("/api/v1/sync-status/", "sync"),
    ("/api/v1/erp/", "erp"),
    ("/api/v1/scheduler/", "scheduler"),
    ("/api/v1/alerts/", "alerts"),
    ("/api/v1/notifications/", "alerts"),
    ("/api/projects/", "projects"),
    ("/api/config/", "projects"),
    ("/api/health", "system"),
]

# The Chinese summary of every operation, by operationId: what Swagger lists. The English text a
# view gives as its summary is kept as the start of the description. A new operation needs a
# line here (or a Chinese `summary=` on its view): tests/config/test_openapi_schema.py says which.
SUMMARIES = {
    "upload_create": "上传一张单据的照片",
    "upload_links_create": "生成签名上传链接及其二维码",
    "history_retrieve": "一张单据的上传记录",
    "admin_records_retrieve": "上传记录列表（管理员）",
    "admin_records_retry_create": "重试失败的上传（管理员）",
    "admin_statistics_retrieve": "上传统计（管理员）",
    "admin_export_retrieve": "导出上传记录为 ZIP（管理员）",
    "v1_sync_status_list_list": "各单据类型的每日同步状态",
    "v1_sync_status_sync_date_create": "同步某一天的单据",
    "v1_sync_status_sync_batch_create": "按日期范围批量同步",
    "v1_sync_status_batches_list": "同步批次列表",
    "v1_sync_status_batches_retrieve": "一个同步批次及其进度",
    "v1_sync_status_batches_cancel_create": "取消同步批次",
    "v1_sync_status_batches_retry_create": "重试同步批次中失败的日期",
    "v1_erp_sales_orders_list": "已同步的销售订单",
    "v1_erp_purchase_orders_list": "已同步的采购订单",
    "v1_erp_purchase_arrivals_list": "已同步的采购到货单",
    "v1_erp_production_orders_list": "已同步的生产订单",
    "v1_erp_material_stock_list": "已同步的物料库存",
    "v1_erp_receivables_list": "已同步的应收单",
    "v1_scheduler_status_retrieve": "调度器状态",
    "v1_scheduler_jobs_list": "所有任务及其计划与最近一次运行",
    "v1_scheduler_jobs_retrieve": "一个任务",
    "v1_scheduler_jobs_partial_update": "修改任务的 cron 或启停",
    "v1_scheduler_jobs_runs_list": "任务的运行记录",
    "v1_scheduler_jobs_trigger_create": "立即运行任务",
    "v1_scheduler_runs_retrieve": "一次运行的状态",
    "v1_scheduler_metrics_retrieve": "各任务的运行指标",
    "v1_scheduler_metrics_prometheus_retrieve": "Prometheus 格式的运行指标",
    "v1_scheduler_services_list_retrieve": "已注册任务的元数据",
    "v1_alerts_list": "告警列表",
    "v1_alerts_retrieve": "一条告警",
    "v1_alerts_acknowledge_create": "确认告警",
    "v1_alerts_resolve_create": "手动解除告警",
    "v1_alerts_silences_list": "静默规则列表",
    "v1_alerts_silences_create": "新建静默规则",
    "v1_alerts_silences_destroy": "删除静默规则",
    "v1_notifications_list": "通知及其发送状态",
    "projects_list": "缓存的项目列表（管理员）",
    "projects_retrieve": "一个项目",
    "projects_links_create": "生成项目的客户链接",
    "projects_links_destroy": "吊销客户链接",
    "projects_links_qr.svg_retrieve": "客户链接的二维码（SVG）",
    "projects_verify_access_retrieve": "检查客户链接是否有效",
    "projects_sync_create": "立即同步项目",
    "projects_sync_history_retrieve": "项目同步记录",
    "config_project_sync_retrieve": "项目同步设置",
    "config_project_sync_create": "修改项目同步设置",
    "config_time_display_retrieve": "客户页面的时间显示设置",
    "config_time_display_create": "修改客户页面的时间显示设置",
    "health_retrieve": "存活与就绪检查",
}

HAS_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def area_of(path: str) -> str:
    return next((area for prefix, area in AREAS if path.startswith(prefix)), "system")


class StandardAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self.describe_in_chinese(operation)
        operation["tags"] = [area_of(path)]
        error_ref = self.resolve_serializer(ErrorSerializer(), "response").ref
        responses = operation.setdefault("responses", {})
        for code in self.error_status_codes(operation):
            responses.setdefault(
                code, {"description": ERROR_DESCRIPTIONS[code], "content": {"application/json": {"schema": error_ref}}}
            )
        if {parameter.get("in") for parameter in operation.get("parameters", [])} & {"path", "query"}:
            # Answered by the web server (gunicorn's limit_request_line) before Django sees the
            # request, so its body is the server's short HTML page, not the API's error body.
            responses.setdefault(
                "414",
                {"description": ERROR_DESCRIPTIONS["414"], "content": {"text/html": {"schema": {"type": "string"}}}},
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def describe_in_chinese(self, operation) -> None:
        """Swagger lists operations by summary: give each its Chinese one, keep the English."""
        summary = SUMMARIES.get(operation["operationId"])
        english = operation.get("summary", "")
        if summary is None or HAS_CHINESE.search(english):
            return
        if english:
            operation["description"] = "\n\n".join(filter(None, [english, operation.get("description")]))
        operation["summary"] = summary

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
