"""Admin: the cached projects with their parts, customer links (create, QR code, revoke), the
sync history with a chart of the recent runs, and the duty roles (read-only: the remote owns them)
with the duty tasks made from them."""

from contextvars import ContextVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from projects import duty, links
from projects.models import (
    CustomerLink,
    DutyRole,
    DutyRoleMember,
    DutyTask,
    DutyTemplate,
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
            response = super().change_view(request, object_id, form_url, extra_context)
            # A TemplateResponse renders after the view returns, when the request is gone and
            # the link would be a bare path (a QR code a phone cannot open): render it here.
            if hasattr(response, "render"):
                response.render()
            return response
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


class DutyRoleMemberInline(ReadOnlyInline):
    model = DutyRoleMember
    fields = ("person_key", "person_name", "username", "phone")


class DutyTemplateInline(ReadOnlyInline):
    model = DutyTemplate
    fields = ("remote_id", "title", "frequency", "weekday", "day_of_month", "active")


class RemoteOwnedAdmin(admin.ModelAdmin):
    """Rows the remote project system owns: shown, never edited here (the next run would undo it)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DutyRole)
class DutyRoleAdmin(RemoteOwnedAdmin):
    list_display = ("name", "remote_id", "source", "member_count", "fetched_at")
    search_fields = ("name", "remote_id", "members__person_name", "members__username")
    inlines = [DutyTemplateInline, DutyRoleMemberInline]
    actions = ["refresh_from_remote"]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description=_("人数"), ordering="member_total")
    def member_count(self, role) -> int:
        return role.member_total

    @admin.action(description=_("从项目系统刷新岗位、成员和职责模板"))
    def refresh_from_remote(self, request, queryset):
        from django.utils import timezone

        outcome = duty.refresh_duty_roles(now=timezone.now())
        failed = {source: code for source, code in outcome.items() if code != "ok"}
        if failed:
            self.message_user(request, _("部分数据源刷新失败：%(failed)s") % {"failed": failed}, messages.ERROR)
        else:
            self.message_user(request, _("已刷新"), messages.SUCCESS)


@admin.register(DutyTemplate)
class DutyTemplateAdmin(RemoteOwnedAdmin):
    list_display = ("title", "role", "frequency", "weekday", "day_of_month", "active")
    list_filter = ("frequency", "active", "role")
    search_fields = ("title", "remote_id")


@admin.register(DutyTask)
class DutyTaskAdmin(admin.ModelAdmin):
    list_display = ("day", "person_name", "username", "title", "role_name", "done_at")
    list_filter = ("day", ("done_at", admin.EmptyFieldListFilter), "template__role")
    search_fields = ("person_name", "username", "title")
    date_hierarchy = "day"
    list_select_related = ("template__role",)
    readonly_fields = [field.name for field in DutyTask._meta.fields]
    actions = ["mark_done"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("岗位"), ordering="template__role__name")
    def role_name(self, task) -> str:
        return task.template.role.name

    @admin.action(description=_("标记为已完成"))
    def mark_done(self, request, queryset):
        done = sum(duty.mark_done(task_id=pk, user=request.user) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, _("%(n)s 项已标记为完成") % {"n": done}, messages.SUCCESS)
