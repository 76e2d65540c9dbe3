"""Admin for sync days, batches (with their days) and every synced document type."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from sync import export, services
from sync.documents import DOCUMENT_SPECS
from sync.models import SyncBatch, SyncBatchDay, SyncDay


@admin.register(SyncDay)
class SyncDayAdmin(admin.ModelAdmin):
    list_display = (
        "sync_date",
        "status",
        "total_records",
        "success_count",
        "failed_count",
        "attempts",
        "end_time",
        "duration_seconds",
        "error_code",
    )
    list_filter = ("status", "error_code")
    date_hierarchy = "sync_date"
    search_fields = ("sync_date", "error_message", "remarks")
    readonly_fields = [f.name for f in SyncDay._meta.fields if f.name != "remarks"]
    actions = ["resync_days"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("重新同步所选日期（强制，作为一个批次）"), permissions=["change"])
    def resync_days(self, request, queryset):
        dates = sorted(queryset.values_list("sync_date", flat=True))
        try:
            batch = services.resync_days(dates=dates, created_by=request.user)
        except services.SyncError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(
            request,
            _("已启动批次 #%(id)s，重新同步 %(days)s 天：%(dates)s")
            % {"id": batch.pk, "days": len(dates), "dates": "、".join(str(day) for day in dates)},
        )


class SyncBatchDayInline(admin.TabularInline):
    model = SyncBatchDay
    extra = 0
    can_delete = False
    fields = (
        "sync_date",
        "status",
        "records",
        "failed_records",
        "attempts",
        "next_attempt_at",
        "retry_until",
        "started_at",
        "finished_at",
        "duration_seconds",
        "error_code",
        "error_message",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncBatch)
class SyncBatchAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "start_date",
        "end_date",
        "status",
        "trigger",
        "force",
        "processed_days",
        "total_days",
        "success_days",
        "failed_days",
        "skipped_days",
        "total_records",
        "created_by",
        "created_at",
        "duration_seconds",
    )
    list_filter = ("status", "trigger", "force")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SyncBatch._meta.fields]
    inlines = [SyncBatchDayInline]
    actions = ["cancel_batches", "retry_batches"]

    def has_add_permission(self, request) -> bool:
        return False

    def _each(self, request, queryset, action, done_message):
        done = 0
        for batch in queryset:
            try:
                action(batch_id=batch.pk)
                done += 1
            except services.SyncError as exc:
                self.message_user(request, f"#{batch.pk}: {exc.message}", messages.WARNING)
        if done:
            self.message_user(request, done_message % {"count": done})

    @admin.action(description=_("取消所选批次（当前日期完成后停止）"), permissions=["change"])
    def cancel_batches(self, request, queryset):
        self._each(request, queryset, services.cancel_batch, _("已请求取消 %(count)s 个批次"))

    @admin.action(description=_("重试所选批次中未成功的日期"), permissions=["change"])
    def retry_batches(self, request, queryset):
        self._each(request, queryset, services.retry_batch, _("已重新启动 %(count)s 个批次"))


class SyncedDocumentAdmin(admin.ModelAdmin):
    """Read-only: synced documents are written by the sync alone. 导出 Excel exports the rows the
    list shows, its filters, search and date drill-down applied."""

    date_hierarchy = "business_date"
    search_fields = ("code", "remote_id")
    list_per_page = 50
    change_list_template = "admin/sync/synced_document_change_list.html"

    def get_urls(self):
        opts = self.model._meta
        export_url = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name=f"{opts.app_label}_{opts.model_name}_export",
        )
        return [export_url, *super().get_urls()]

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # The changelist answers a bad filter the same way: back to the list, which says so.
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?e=1")
        response = StreamingHttpResponse(
            export.export_xlsx(changelist.queryset),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{export.export_name(self.model)}.xlsx"'
        return response

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


_LIST_EXTRAS = {
    "sales_order": ("customer_name", "amount", "status_name", "delivery_date"),
    "purchase_order": ("vendor_name", "product_name", "quantity", "amount", "status_name", "arrival_date"),
    "purchase_arrival": ("vendor_name", "source_order_code", "product_code", "quantity"),
    "receivable": ("customer_name", "amount", "balance", "due_date"),
    "material_stock": ("warehouse_name", "product_code", "product_name", "current_quantity", "safety_quantity"),
    "production_order": ("product_name", "quantity", "finished_quantity", "finish_date", "status_name"),
    "production_material": ("order_code", "product_code", "specification", "required_quantity", "issued_quantity"),
    "outsourcing_order": ("vendor_name", "product_name", "quantity", "received_quantity", "due_date", "status_name"),
    "work_report": ("order_code", "reported_at", "quantity", "operator_name"),
    "engineering_change": ("title", "stage", "approval_deadline", "implementation_deadline", "owner_name"),
    "equipment_maintenance": ("equipment_name", "workshop", "next_maintenance_date", "owner_name"),
    "quotation": ("customer_name", "amount", "valid_until", "status", "owner_name"),
    "opportunity": ("title", "customer_name", "stage", "closed", "last_follow_up", "owner_name"),
}
_LIST_FILTERS = {
    "sales_order": ("status_name", "currency"),
    "purchase_order": ("status_name",),
    "material_stock": ("warehouse_name",),
    "production_order": ("status_name",),
}
_SEARCH_EXTRAS = {
    "sales_order": ("customer_name",),
    "purchase_order": ("vendor_name", "product_code"),
    "purchase_arrival": ("vendor_name", "source_order_code"),
    "receivable": ("customer_name",),
    "material_stock": ("product_code", "product_name"),
    "production_order": ("product_code", "product_name"),
    "production_material": ("order_code", "product_code"),
    "outsourcing_order": ("vendor_name", "product_code"),
    "work_report": ("order_code",),
    "engineering_change": ("title", "owner_name"),
    "equipment_maintenance": ("equipment_code", "equipment_name"),
    "quotation": ("customer_name",),
    "opportunity": ("customer_name", "title"),
}

for _spec in DOCUMENT_SPECS:
    admin.site.register(
        _spec.model,
        type(
            f"{_spec.model.__name__}Admin",
            (SyncedDocumentAdmin,),
            {
                "list_display": ("code", "business_date", *_LIST_EXTRAS.get(_spec.doc_type, ()), "pubts", "synced_at"),
                "list_filter": _LIST_FILTERS.get(_spec.doc_type, ()),
                "search_fields": ("code", "remote_id", *_SEARCH_EXTRAS.get(_spec.doc_type, ())),
            },
        ),
    )
