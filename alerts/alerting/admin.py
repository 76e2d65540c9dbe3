"""Admin for alerting: alerts (read-mostly, with acknowledge/resolve actions calling the services),
silences, contacts, routes (validated), and the runtime thresholds of the rules."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from alerts.alerting import lifecycle, suppression
from alerts.alerting.models import Alert, AlertEvent, AlertThreshold, Contact, Route, Silence
from alerts.alerting.thresholds import SPECS, validate_threshold
from alerts.routing import validate_route_contacts, validate_route_fields


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "message"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["title", "rule", "severity", "status", "project", "starts_at", "last_seen_at", "occurrences"]
    list_filter = ["status", "severity", "category", "rule"]
    search_fields = ["title", "key", "project"]
    date_hierarchy = "starts_at"
    inlines = [AlertEventInline]
    actions = ["acknowledge", "resolve"]
    readonly_fields = [field.name for field in Alert._meta.fields]

    def has_add_permission(self, request):
        return False  # alerts are raised by rules

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def _transition(self, request, queryset, service, done):
        count = 0
        for alert_id in queryset.values_list("pk", flat=True):
            try:
                service(alert_id=alert_id, user=request.user, comment=str(_("管理后台批量操作")))
            except lifecycle.IllegalAlertTransition:
                continue
            count += 1
        self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("确认所选预警"), permissions=["view"])
    def acknowledge(self, request, queryset):
        self._transition(request, queryset, lifecycle.acknowledge_alert, _("已确认 %(count)s 条"))

    @admin.action(description=_("关闭所选预警"), permissions=["view"])
    def resolve(self, request, queryset):
        self._transition(request, queryset, lifecycle.resolve_alert, _("已关闭 %(count)s 条"))


class SilenceForm(forms.ModelForm):
    class Meta:
        model = Silence
        fields = ["matchers", "starts_at", "ends_at", "comment"]

    def clean_matchers(self):
        return suppression.validate_matchers(self.cleaned_data["matchers"])

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            raise ValidationError({"ends_at": _("结束时间必须晚于开始时间")})
        if ends and ends <= timezone.now() and not self.instance.pk:
            raise ValidationError({"ends_at": _("结束时间必须晚于当前时间")})
        return cleaned


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    form = SilenceForm
    list_display = ["pk", "comment", "matchers_display", "starts_at", "ends_at", "active", "created_by"]
    actions = ["expire"]

    @admin.display(description=_("匹配条件"))
    def matchers_display(self, silence):
        return ", ".join(f"{m['name']}{m['op']}{m['value']}" for m in silence.matchers)

    @admin.display(description=_("生效中"), boolean=True)
    def active(self, silence):
        return silence.is_active()

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("立即结束所选静默"))
    def expire(self, request, queryset):
        ended = 0
        for silence_id in queryset.values_list("pk", flat=True):
            try:
                suppression.expire_silence(silence_id=silence_id)
            except (suppression.SilenceNotActive, Silence.DoesNotExist):
                continue
            ended += 1
        self.message_user(request, ngettext("已结束 %d 个静默", "已结束 %d 个静默", ended) % ended, messages.SUCCESS)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "wecom_robot_key", "wecom_user_id", "phone", "email", "escalates_to", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "email", "phone", "wecom_user_id"]
    autocomplete_fields = ["user", "escalates_to"]


class RouteForm(forms.ModelForm):
    class Meta:
        model = Route
        fields = [
            "name",
            "parent",
            "position",
            "rules",
            "severities",
            "categories",
            "labels",
            "channels",
            "contacts",
            "continue_matching",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        checks = (
            lambda: validate_route_fields(
                rules=cleaned.get("rules") or [],
                severities=cleaned.get("severities") or [],
                categories=cleaned.get("categories") or [],
                labels=cleaned.get("labels") or {},
                channels=cleaned.get("channels") or [],
            ),
            lambda: validate_route_contacts(
                channels=cleaned.get("channels") or [], contacts=cleaned.get("contacts") or []
            ),
        )
        for check in checks:
            try:
                check()
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(None if field == "__all__" else field, errors)
        parent = cleaned.get("parent")
        while parent is not None and self.instance.pk:
            if parent.pk == self.instance.pk:
                self.add_error("parent", _("上级路由不能是自己或自己的下级"))
                break
            parent = parent.parent
        return cleaned


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    form = RouteForm
    list_display = ["name", "parent", "position", "criteria", "channels", "continue_matching", "is_active"]
    list_filter = ["is_active"]
    filter_horizontal = ["contacts"]

    @admin.display(description=_("匹配条件"))
    def criteria(self, route):
        parts = {"rules": route.rules, "severities": route.severities, "categories": route.categories}
        shown = {name: value for name, value in parts.items() if value}
        if route.labels:
            shown["labels"] = route.labels
        return json.dumps(shown, ensure_ascii=False) if shown else _("全部")


class ThresholdForm(forms.ModelForm):
    # A callable: apps declare their thresholds after the admin is imported.
    key = forms.ChoiceField(label=_("参数"), choices=lambda: [(key, spec.label) for key, spec in SPECS.items()])

    class Meta:
        model = AlertThreshold
        fields = ["key", "value"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("key") is not None and cleaned.get("value") is not None:
            try:
                cleaned["value"] = validate_threshold(cleaned["key"], cleaned["value"])
            except ValidationError as exc:
                self.add_error("value", exc)
        return cleaned


@admin.register(AlertThreshold)
class AlertThresholdAdmin(admin.ModelAdmin):
    form = ThresholdForm
    list_display = ["key", "meaning", "value", "unit", "default", "updated_at", "updated_by"]

    @admin.display(description=_("含义"))
    def meaning(self, row):
        spec = SPECS.get(row.key)
        return spec.label if spec else "?"

    @admin.display(description=_("单位"))
    def unit(self, row):
        spec = SPECS.get(row.key)
        return spec.unit if spec else ""

    @admin.display(description=_("默认值"))
    def default(self, row):
        spec = SPECS.get(row.key)
        return f"{spec.default:g}" if spec else ""

    def get_readonly_fields(self, request, obj=None):
        return ["key"] if obj else []

    def save_model(self, request, obj, form, change):
        obj.updated_by, obj.updated_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)
