"""Admin for the scheduler: jobs (their schedule, editable), runs (read-only, retry), counters."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from alerts import redelivery, registry, services
from alerts.cron_words import describe_cron
from alerts.models import JobRun, Notification, ScheduledJob
from alerts.notifications_api import masked


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
            return services.checked_cron(self.cleaned_data["cron"])
        except services.InvalidCron as exc:
            raise forms.ValidationError(str(exc)) from None


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


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox: every message and its delivery; rows are facts, staff only send again."""

    list_display = ["id", "created_at", "channel", "shown_address", "title", "status", "attempts", "last_error_code"]
    list_filter = ["status", "channel"]
    search_fields = ["title", "idempotency_key", "last_error_code", "provider_message_id"]
    date_hierarchy = "created_at"
    exclude = ["address", "lease_token"]
    actions = ["resend"]

    def get_readonly_fields(self, request, obj=None):
        return ["shown_address"] + [f.name for f in Notification._meta.fields if f.name not in self.exclude]

    def has_add_permission(self, request):
        return False  # notifications are written by the outbox, never by hand

    def has_change_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm("alerts.change_notification")

    @admin.display(description=_("接收地址"))
    def shown_address(self, obj):
        # A robot's webhook key lets anyone post to the group: never shown whole.
        return masked(obj.address) if obj.channel == "wecom_robot" else obj.address

    @admin.action(description=_("重新发送所选的已放弃/已发送通知"), permissions=["resend"])
    def resend(self, request, queryset):
        chosen = list(queryset.values_list("pk", flat=True))
        resent = redelivery.resend(chosen)
        self.message_user(request, ngettext("已重新排队 %d 条通知", "已重新排队 %d 条通知", resent) % resent)
        if resent < len(chosen):
            self.message_user(
                request, _("待发送、发送中或失败待重试的通知不会重复发送，已跳过"), level=messages.WARNING
            )


# Alerting's admin lives beside its code; importing it registers it.
from alerts.alerting import admin as _alerting_admin  # noqa: E402, F401
