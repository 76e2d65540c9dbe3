"""Staff admin for upload records: badges, filters, statistics and a 30-day chart, retry/export/QR."""

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from uploads import links, selectors, services
from uploads.api import zip_response
from uploads.models import UploadRecord, UploadStatus

ICONS = {"success": "✓", "uploading": "⏳", "failed": "✗", "pending": "⏸"}
CHART_COLOURS = {"success": "#15803d", "uploading": "#0c5460", "pending": "#6b7280", "failed": "#b91c1c"}


def chart(series: list[dict], *, width: int = 720, height: int = 160) -> dict:
    """Stacked bars (one per day, one segment per status) as plain numbers for an inline SVG."""
    peak = max([day["total"] for day in series] + [1])
    slot = width / max(len(series), 1)
    bars = []
    for index, day in enumerate(series):
        y = height
        segments = []
        for status in ("success", "uploading", "pending", "failed"):
            h = day[status] / peak * (height - 10)
            if h:
                y -= h
                segments.append({"y": round(y, 1), "h": round(h, 1), "colour": CHART_COLOURS[status], "status": status})
        bars.append(
            {
                "x": round(index * slot + 1, 1),
                "w": round(max(slot - 2, 1), 1),
                "segments": segments,
                "label": day["date"].strftime("%m-%d"),
                "total": day["total"],
                "title": f"{day['date']:%Y-%m-%d}: "
                + ", ".join(f"{UploadStatus(s).label} {day[s]}" for s in UploadStatus.values),
            }
        )
    return {"width": width, "height": height, "bars": bars, "peak": peak, "legend": CHART_COLOURS}


@admin.register(UploadRecord)
class UploadRecordAdmin(admin.ModelAdmin):
    change_list_template = "admin/uploads/uploadrecord/change_list.html"
    list_display = (
        "id",
        "doc_number",
        "doc_type",
        "product_type",
        "original_name",
        "file_name",
        "size_kb",
        "upload_time",
        "status_badge",
        "attempts",
        "retry_count",
        "error_message_short",
    )
    list_display_links = ("id", "doc_number")
    list_filter = ("status", "doc_type", "product_type", "upload_time")
    search_fields = ("doc_number", "file_name", "business_id", "original_name")
    date_hierarchy = "upload_time"
    list_per_page = 50
    actions = ["retry_selected", "export_selected"]
    readonly_fields = (
        "business_id",
        "doc_number",
        "doc_type",
        "product_type",
        "file_name",
        "original_name",
        "file_size",
        "file_extension",
        "sha256",
        "upload_time",
        "status_badge",
        "error_code",
        "error_message",
        "yonyou_file_id",
        "retry_count",
        "attempts",
        "local_file_path",
        "local_file_deleted_at",
        "uploaded_by",
        "next_attempt_at",
        "gives_up_at",
        "enqueued_at",
        "lease_expires_at",
        "last_attempt_ms",
        "uploading_at",
        "succeeded_at",
        "failed_at",
        "created_at",
        "updated_at",
        "qr_link",
    )
    exclude = ("status", "lease_token", "deleted_at")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def has_add_permission(self, request):
        return False  # records come from uploads only

    # --- Columns ----------------------------------------------------------------------------
    @admin.display(description=_("状态"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="yq-badge yq-{}">{} {}</span>', obj.status, ICONS.get(obj.status, ""), obj.get_status_display()
        )

    @admin.display(description=_("大小(KB)"), ordering="file_size")
    def size_kb(self, obj):
        return round(obj.file_size / 1024, 1)

    @admin.display(description=_("错误信息"))
    def error_message_short(self, obj):
        if obj.status != UploadStatus.FAILED or not obj.error_message:
            return "-"
        text = obj.error_message if len(obj.error_message) <= 60 else obj.error_message[:60] + "…"
        return format_html('<span title="{}">{}</span>', obj.error_message, text)

    @admin.display(description=_("二维码"))
    def qr_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:uploads_uploadrecord_qr", args=[obj.pk]), _("打印二维码")
        )

    # --- Deletion is soft, as in the seed ---------------------------------------------------
    def delete_model(self, request, obj):
        services.soft_delete([obj.pk])

    def delete_queryset(self, request, queryset):
        services.soft_delete(queryset.values_list("pk", flat=True))

    # --- Actions ----------------------------------------------------------------------------
    @admin.action(description=_("重试所选失败记录"), permissions=["change"])
    def retry_selected(self, request, queryset):
        retried = services.retry_failed(queryset.values_list("pk", flat=True))
        self.message_user(request, _("已重新排队 %(n)s 条失败记录") % {"n": retried}, messages.SUCCESS)

    @admin.action(description=_("导出所选记录（ZIP：Excel + 图片）"), permissions=["view"])
    def export_selected(self, request, queryset):
        return zip_response(queryset)

    # --- Statistics panel and chart ---------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "upload_stats": selectors.statistics(),
            "upload_chart": chart(selectors.daily_counts(30)),
            "status_choices": UploadStatus.choices,
        }
        return super().changelist_view(request, extra_context=extra_context)

    # --- Print QR ---------------------------------------------------------------------------
    def get_urls(self):
        extra = [
            path(
                "<path:object_id>/qr/",
                self.admin_site.admin_view(self.qr_view),
                name="uploads_uploadrecord_qr",
            )
        ]
        return extra + super().get_urls()

    def qr_view(self, request, object_id):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        record = get_object_or_404(self.get_queryset(request), pk=object_id)
        link = links.create_link(business_id=record.business_id, doc_number=record.doc_number, doc_type=record.doc_type)
        url = request.build_absolute_uri(link.path())
        return render(
            request,
            "admin/uploads/uploadrecord/qr.html",
            {
                **self.admin_site.each_context(request),
                "title": _("上传二维码"),
                "record": record,
                "url": url,
                "expires_at": link.expires_at,
                # segno builds the SVG from the URL alone; nothing user-provided is raw text in it.
                "qr_svg": mark_safe(links.qr_svg(url)),  # noqa: S308
                "opts": self.model._meta,
            },
        )
