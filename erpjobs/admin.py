from django.contrib import admin

from erpjobs.models import DailyReport


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    """Reports are written by their jobs only: staff read them."""

    list_display = ["report_date", "kind", "generated_at", "notification", "send_error"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "report_date", "content", "markdown", "generated_at", "notification", "send_error"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
