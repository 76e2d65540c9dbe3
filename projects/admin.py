"""Admin: the cached projects with their parts, customer links (create, QR code, revoke), and the
sync history with a chart of the recent runs."""

from contextvars import ContextVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from projects import links
from projects.models import (
    CustomerLink,
    Milestone,
    PaymentPlan,
    Project,
    ProjectChange,
    ProjectIssue,
    ProjectSyncRun,
    Task,
)

CHART_RUNS = 30
# The request of the change view being rendered: readonly fields only receive the object, and a
# ModelAdmin is shared by every thread, so an attribute on it would leak between requests.
_current_request: ContextVar = ContextVar("projects_admin_request", default=None)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MilestoneInline(ReadOnlyInline):
    model = Milestone
    fields = ("name", "planned_date", "actual_date", "status", "payment_share")


class PaymentPlanInline(ReadOnlyInline):
    model = PaymentPlan
    fields = ("name", "amount", "due_date", "received_amount", "received_date")


class TaskInline(ReadOnlyInline):
    model = Task
    fields = ("name", "assignee", "due_date", "progress", "status")


class IssueInline(ReadOnlyInline):
    model = ProjectIssue
    fields = ("title", "severity", "blocking", "opened_at", "responded_at", "resolved_at", "due_at")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = (
        "remote_id",
        "name",
        "project_type",
        "status",
        "progress",
        "customer_name",
        "owner_name",
        "planned_end",
        "fetched_at",
        "sync_error_code",
    )
    list_filter = ("project_type", "status", "source", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("remote_id", "name", "customer_name", "owner_name")
    inlines = [MilestoneInline, PaymentPlanInline, TaskInline, IssueInline]
    actions = ["create_customer_links"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Project._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("为所选项目生成客户链接"), permissions=["view"])
    def create_customer_links(self, request, queryset):
        if not request.user.has_perm("projects.add_customerlink"):
            self.message_user(request, _("没有生成客户链接的权限"), messages.ERROR)
            return
        for project in queryset:
            try:
                link = links.create_link(project=project, user=request.user)
            except links.LinkRefused as exc:
                self.message_user(request, f"{project.remote_id}: {exc}", messages.ERROR)
                continue
            url = request.build_absolute_uri(links.customer_path(link))
            self.message_user(request, format_html("{}：<a href='{}'>{}</a>", project.remote_id, url, url))


class CustomerLinkForm(forms.ModelForm):
    days = forms.IntegerField(
        label=_("有效天数"), min_value=1, initial=lambda: settings.PROJECTS_LINK_DEFAULT_AGE_DAYS, required=True
    )

    class Meta:
        model = CustomerLink
        fields = ("project", "note")

    def clean_days(self):
        days = self.cleaned_data["days"]
        if days > settings.PROJECTS_LINK_MAX_AGE_DAYS:
            raise forms.ValidationError(
                _("有效天数应在 1 到 %(max)s 之间") % {"max": settings.PROJECTS_LINK_MAX_AGE_DAYS}
            )
        return days


@admin.register(CustomerLink)
class CustomerLinkAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "note", "state_display", "expires_at", "created_by", "last_used_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("project__remote_id", "project__name", "note")
    raw_id_fields = ("project",)
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = CustomerLinkForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("project", "days", "note")
        return ("project", "note", "state_display", "url", "qr_code", "created_at", "created_by", "expires_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("project", "state_display", "url", "qr_code", "created_at", "created_by", "expires_at")

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["note"])
            return
        link = links.create_link(
            project=form.cleaned_data["project"],
            user=request.user,
            days=form.cleaned_data["days"],
            note=form.cleaned_data.get("note") or "",
        )
        obj.pk = link.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("状态"))
    def state_display(self, link):
        return {"valid": _("有效"), "expired": _("已过期"), "revoked": _("已撤销")}[link.state()]

    @admin.display(description=_("链接"))
    def url(self, link):
        request = _current_request.get()
        path = links.customer_path(link)
        full = request.build_absolute_uri(path) if request else path
        return format_html("<a href='{}' target='_blank' rel='noopener'>{}</a>", full, full)

    @admin.display(description=_("二维码"))
    def qr_code(self, link):
        request = _current_request.get()
        path = links.customer_path(link)
        # segno builds the SVG from the URL alone; nothing user-provided is raw text in it.
        return mark_safe(links.qr_svg(request.build_absolute_uri(path) if request else path))  # noqa: S308

    def change_view(self, request, object_id, form_url="", extra_context=None):
        token = _current_request.set(request)
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        finally:
            _current_request.reset(token)

    @admin.action(description=_("撤销所选链接"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = 0
        for link in queryset.filter(revoked_at__isnull=True):
            try:
                links.revoke_link(link=link, user=request.user)
                revoked += 1
            except links.LinkNotRevocable:
                continue
        self.message_user(request, _("已撤销 %(n)s 个链接") % {"n": revoked})


class ProjectChangeInline(ReadOnlyInline):
    model = ProjectChange
    fields = ("remote_id", "kind", "diff", "changed_at")
    fk_name = "run"


@admin.register(ProjectSyncRun)
class ProjectSyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "mode",
        "status",
        "started_at",
        "duration_s",
        "projects_total",
        "created",
        "updated",
        "unchanged",
        "deleted",
        "failed",
        "error_code",
    )
    list_filter = ("status", "mode")
    inlines = [ProjectChangeInline]
    change_list_template = "admin/projects/projectsyncrun/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ProjectSyncRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        runs = list(ProjectSyncRun.objects.order_by("-started_at", "-id")[:CHART_RUNS])[::-1]
        extra_context = {**(extra_context or {}), "chart": sync_chart(runs)}
        return super().changelist_view(request, extra_context)


def sync_chart(runs: list[ProjectSyncRun]) -> dict:
    """Bars of the recent runs: projects changed (blue) and failed (red), scaled to the largest."""
    top = max([run.updated + run.created + run.deleted + run.failed for run in runs] + [1])
    width = 12
    bars = []
    for index, run in enumerate(runs):
        changed = run.updated + run.created + run.deleted
        changed_h = round(100 * changed / top)
        failed_h = round(100 * run.failed / top)
        bars.append(
            {
                "x": index * (width + 4),
                "changed_y": 100 - changed_h,
                "changed_h": changed_h,
                "failed_y": 100 - changed_h - failed_h,
                "failed_h": failed_h,
                "title": f"#{run.pk} {run.started_at:%m-%d %H:%M} {run.get_status_display()} "
                f"changed {changed} failed {run.failed}",
            }
        )
    return {"bars": bars, "width": max(1, len(runs)) * (width + 4), "bar_width": width, "top": top}
