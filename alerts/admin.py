"""Admin for the scheduler: jobs (their schedule, editable), runs (read-only, retry), counters."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from alerts import registry, services
from alerts.cron_words import describe_cron
from alerts.models import JobRun, ScheduledJob


class ScheduledJobForm(forms.ModelForm):
    cron = forms.CharField(label=_("cron 表达式"), max_length=100)
    enabled = forms.BooleanField(label=_("启用"), required=False)

    class Meta:
        model = ScheduledJob
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.pk:
            self.fields["cron"].initial = self.instance.cron
            self.fields["enabled"].initial = self.instance.enabled

    def clean_cron(self):
        try:
            return registry.validate_cron(self.cleaned_data["cron"])
        except ValueError as exc:
            raise forms.ValidationError(_("cron 表达式无效：%(reason)s"), params={"reason": exc}) from None


@admin.register(ScheduledJob)
class ScheduledJobAdmin(admin.ModelAdmin):
    form = ScheduledJobForm
    list_display = ["job_id", "job_name", "cron_display", "cron_words", "enabled_display", "next_run", "in_registry"]
    list_filter = ["in_registry"]
    search_fields = ["job_id"]
    readonly_fields = ["job_id", "job_name", "default_cron", "next_run", "in_registry", "edited_at", "edited_by"]
    fields = [
        "job_id",
        "job_name",
        "cron",
        "enabled",
        "default_cron",
        "next_run",
        "in_registry",
        "edited_at",
        "edited_by",
    ]
    actions = ["run_now", "enable", "disable"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("schedule", "edited_by")

    def has_add_permission(self, request):
        return False  # jobs come from code (registry), not from the admin

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("名称"))
    def job_name(self, obj):
        return registry.get_job(obj.job_id).name if registry.is_registered(obj.job_id) else "—"

    @admin.display(description=_("cron"))
    def cron_display(self, obj):
        return obj.cron

    @admin.display(description=_("执行时间"))
    def cron_words(self, obj):
        return describe_cron(obj.cron)

    @admin.display(description=_("启用"), boolean=True)
    def enabled_display(self, obj):
        return obj.enabled

    @admin.display(description=_("下次运行"))
    def next_run(self, obj):
        return obj.next_run

    def save_model(self, request, obj, form, change):
        services.update_job_schedule(
            job_id=obj.job_id, cron=form.cleaned_data["cron"], enabled=form.cleaned_data["enabled"], user=request.user
        )

    def has_run_permission(self, request):
        return services.may_start_runs(request.user)

    @admin.action(description=_("立即执行所选任务"), permissions=["run"])
    def run_now(self, request, queryset):
        queued = [
            services.trigger_job(job_id=row.job_id, user=request.user).pk
            for row in queryset
            if registry.is_registered(row.job_id)
        ]
        self.message_user(request, ngettext("已排队 %d 次运行", "已排队 %d 次运行", len(queued)) % len(queued))

    @admin.action(description=_("启用所选任务"), permissions=["change"])
    def enable(self, request, queryset):
        for row in queryset:
            services.update_job_schedule(job_id=row.job_id, enabled=True, user=request.user)

    @admin.action(description=_("停用所选任务"), permissions=["change"])
    def disable(self, request, queryset):
        for row in queryset:
            services.update_job_schedule(job_id=row.job_id, enabled=False, user=request.user)


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "job_id",
        "status",
        "sla_exceeded",
        "trigger",
        "triggered_by",
        "queued_at",
        "duration_s",
        "short_error",
    ]
    list_filter = ["status", "sla_exceeded", "trigger", "job_id"]
    search_fields = ["job_id", "error"]
    date_hierarchy = "queued_at"
    list_select_related = ["triggered_by"]
    actions = ["retry"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in JobRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Read-only detail pages: runs are facts; the view permission is enough to open them.
        return False

    @admin.display(description=_("错误"))
    def short_error(self, obj):
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error

    def has_run_permission(self, request):
        return services.may_start_runs(request.user)

    @admin.action(description=_("重试所选的失败/超时运行"), permissions=["run"])
    def retry(self, request, queryset):
        retried = 0
        for run in queryset:
            try:
                services.retry_run(run=run, user=request.user)
            except (services.IllegalRunTransition, registry.UnknownJob) as exc:
                self.message_user(request, f"#{run.pk}: {exc}", level=messages.WARNING)
            else:
                retried += 1
        self.message_user(request, ngettext("已排队 %d 次重试", "已排队 %d 次重试", retried) % retried)
