"""Staff admin for upload records: badges, filters, statistics and a 30-day chart, retry/export/QR."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from uploads import access, links, selectors, services
from uploads.api import zip_response
from uploads.models import DocType, UploadRecord, UploadStatus
from uploads.views import has_photo

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


class NewDocumentQrForm(forms.Form):
    """A QR code for a document that has no upload yet: what a clerk prints on a new delivery note."""

    business_id = forms.RegexField(
        label=_("业务单据ID"),
        regex=r"^[0-9]{1,50}$",  # \d would take full-width digits
        error_messages={"invalid": _("业务单据ID必须为纯数字")},
    )
    doc_number = forms.CharField(label=_("单据编号"), max_length=100)
    doc_type = forms.ChoiceField(label=_("单据类型"), choices=DocType.choices)
    valid_days = forms.IntegerField(label=_("有效期（天）"), min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        longest = max(1, settings.UPLOAD_LINK_MAX_AGE_S // 86400)
        self.fields["valid_days"].validators.append(MaxValueValidator(longest, message=_("最长 %(limit_value)s 天")))
        self.fields["valid_days"].widget.attrs["max"] = longest
        self.fields["valid_days"].initial = longest
        self.fields["valid_days"].help_text = _("最长 %(n)s 天") % {"n": longest}


def qr_code(request, *, business_id: str, doc_number: str, doc_type: str, max_age_s: int | None = None) -> dict:
    """One printable code: the signed link, its QR as SVG and when it expires."""
    link = links.create_link(business_id=business_id, doc_number=doc_number, doc_type=doc_type, max_age_s=max_age_s)
    url = request.build_absolute_uri(link.path())
    return {
        "business_id": business_id,
        "doc_number": doc_number,
        "doc_type": doc_type,
        "url": url,
        "expires_at": link.expires_at,
        # segno builds the SVG from the URL alone; nothing user-provided is raw text in it.
        "svg": mark_safe(links.qr_svg(url)),  # noqa: S308
    }


@admin.register(UploadRecord)
class UploadRecordAdmin(admin.ModelAdmin):
    change_list_template = "admin/uploads/uploadrecord/change_list.html"
    # What a clerk scans at 1366 px without scrolling sideways: the generated file name is on the
    # record page and searchable, not a column.
    list_display = (
        "id",
        "photo_preview",
        "doc_number",
        "doc_type",
        "product_type",
        "original_name",
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
    actions = ["retry_selected", "export_selected", "print_qr_codes"]
    readonly_fields = (
        "photo_large",
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
        "uploaded_by_name",
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
    exclude = ("status", "lease_token", "deleted_at", "uploaded_by")

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

    @admin.display(description=_("照片"))
    def photo_preview(self, obj):
        if not has_photo(obj):
            return "-"
        url = reverse("uploads:record-photo", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img class="yq-thumb" src="{}" alt="{}" loading="lazy"'
            ' width="40" height="40"></a>',
            url,
            url,
            obj.original_name or obj.file_name,
        )

    @admin.display(description=_("照片"))
    def photo_large(self, obj):
        if not has_photo(obj):
            return _("无可显示的图片（非图片文件，或本地副本已清理）")
        url = reverse("uploads:record-photo", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" title="{}"><img src="{}" alt="{}"'
            ' style="max-width: min(480px, 100%); height: auto; border-radius: 6px"></a>',
            url,
            _("点击查看原图"),
            url,
            obj.original_name or obj.file_name,
        )

    @admin.display(description=_("上传人"))
    def uploaded_by_name(self, obj):
        user = obj.uploaded_by
        if user is None:
            return _("二维码链接（未登录）")
        return user.get_full_name() or user.get_username()

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

    @admin.action(description=_("打印所选单据的上传二维码"), permissions=["view"])
    def print_qr_codes(self, request, queryset):
        if not access.may_create_links(request.user):
            raise PermissionDenied
        documents = queryset.order_by("doc_number").values_list("business_id", "doc_number", "doc_type").distinct()
        codes = [qr_code(request, business_id=b, doc_number=n, doc_type=t) for b, n, t in documents]
        return self.qr_sheet(request, codes)

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
            path("qr/new/", self.admin_site.admin_view(self.new_qr_view), name="uploads_uploadrecord_qr_new"),
            path("<path:object_id>/qr/", self.admin_site.admin_view(self.qr_view), name="uploads_uploadrecord_qr"),
        ]
        return extra + super().get_urls()

    def qr_sheet(self, request, codes: list[dict], *, form=None):
        """An A4 sheet of codes, several per page; also the new-document form when given."""
        return render(
            request,
            "admin/uploads/uploadrecord/qr.html",
            {
                **self.admin_site.each_context(request),
                "title": _("上传二维码"),
                "codes": codes,
                "form": form,
                "opts": self.model._meta,
            },
        )

    def qr_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        record = get_object_or_404(self.get_queryset(request), pk=object_id)
        code = qr_code(request, business_id=record.business_id, doc_number=record.doc_number, doc_type=record.doc_type)
        return self.qr_sheet(request, [code])

    def new_qr_view(self, request):
        if not access.may_create_links(request.user):
            raise PermissionDenied
        form = NewDocumentQrForm(request.POST or None)
        codes = []
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            codes = [
                qr_code(
                    request,
                    business_id=data["business_id"],
                    doc_number=data["doc_number"].strip(),
                    doc_type=data["doc_type"],
                    max_age_s=data["valid_days"] * 86400,
                )
            ]
        return self.qr_sheet(request, codes, form=form)
