from django.contrib import admin

from erpjobs.models import DailyReport, KitRate


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


@admin.register(KitRate)
class KitRateAdmin(admin.ModelAdmin):
    """Rates are written by `daily_kit_check`: staff filter and read them."""

    list_display = ["check_date", "order_code", "product_name", "start_date", "covered_lines", "lines", "rate"]
    list_filter = ["check_date"]
    search_fields = ["order_code", "product_name"]
    date_hierarchy = "check_date"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
