"""Scheduler REST API (staff only): status, jobs, runtime edits, manual runs, metrics."""

import datetime

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError, PermissionDenied, UnsupportedMediaType, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import prometheus, registry, selectors, services
from alerts.models import JobRun
from config.api import StandardPagination
from config.permissions import IsStaffMember
from config.throttling import CronPreviewThrottle, TokenUserThrottle


class StaffAPIView(APIView):
    permission_classes = [IsStaffMember]


def _job_or_404(job_id: str) -> registry.JobSpec:
    try:
        return registry.get_job(job_id)
    except registry.UnknownJob:
        raise Http404(_("没有这个任务：%(job)s") % {"job": job_id}) from None


def _json_object_body(request) -> dict:
    """The request body as a JSON object, or a 4xx that changes nothing.

    Only JSON is read: in a form or multipart body a field that was not sent reads as an unticked
    checkbox, so `enabled` would silently become false (an empty multipart body did that too).
    """
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if media_type and media_type != "application/json":
        raise UnsupportedMediaType(
            media_type,
            detail=_("请求体必须是 JSON（Content-Type: application/json），收到的是 %(type)s") % {"type": media_type},
        )
    try:
        data = request.data
    except ParseError:
        raise ParseError(_("请求体不是有效的 JSON")) from None
    if not isinstance(data, dict):
        raise ValidationError(_("请求体必须是一个 JSON 对象"))
    return data


def _local_times(value):
    """Datetimes in plain dict answers rendered like the serializers render them (local time)."""
    if isinstance(value, datetime.datetime):
        return serializers.DateTimeField().to_representation(value)
    if isinstance(value, dict):
        return {key: _local_times(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_local_times(item) for item in value]
    return value


class RunSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    trigger = serializers.CharField()
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)
    sla_exceeded = serializers.BooleanField(help_text="ran to its end but took longer than its SLA")
    error = serializers.CharField()


class JobSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    risk = serializers.CharField()
    sla_s = serializers.FloatField()
    description = serializers.CharField()
    cron = serializers.CharField()
    cron_description = serializers.CharField()
    default_cron = serializers.CharField()
    cron_edited = serializers.BooleanField()
    enabled = serializers.BooleanField()
    registered = serializers.BooleanField()
    next_run = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField(help_text="next run is in the past: the scheduler missed it")
    running = serializers.BooleanField()
    last_run = RunSummarySerializer(allow_null=True)
    last_status = serializers.CharField(allow_null=True)
    last_status_display = serializers.CharField(allow_null=True)
    p95_s = serializers.FloatField(allow_null=True)
    edited_at = serializers.DateTimeField(allow_null=True)


class JobEditSerializer(serializers.Serializer):
    required_any = ("cron", "enabled")  # PATCH {} changes nothing: refused, and the schema says so
    cron = serializers.CharField(
        required=False, max_length=100, help_text="five-field cron expression, e.g. `*/5 * * * *` (checked by croniter)"
    )
    enabled = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if not attrs:
            raise ValidationError(_("请提供 cron 或 enabled"))
        if "cron" in attrs:
            try:
                attrs["cron"] = services.checked_cron(attrs["cron"])
            except services.InvalidCron as exc:
                raise ValidationError({"cron": [str(exc)]}) from None
        return attrs


class JobRunSerializer(serializers.ModelSerializer):
    triggered_by = serializers.SerializerMethodField()
    # Plain strings in the schema: other apps also have "status"/"trigger" enums, and one shared
    # enum name per field is what drf-spectacular wants.
    status = serializers.CharField(read_only=True, help_text=" | ".join(JobRun.Status.values))
    trigger = serializers.CharField(read_only=True, help_text=" | ".join(JobRun.Trigger.values))

    class Meta:
        model = JobRun
        fields = [
            "id",
            "job_id",
            "trigger",
            "triggered_by",
            "retry_of",
            "status",
            "queued_at",
            "started_at",
            "finished_at",
            "duration_s",
            "sla_s",
            "sla_exceeded",
            "missed_runs",
            "error",
            "traceback",
            "result",
            "host",
        ]

    def get_triggered_by(self, run) -> str | None:
        return run.triggered_by.get_username() if run.triggered_by else None


class SchedulerStatusView(StaffAPIView):
    @extend_schema(
        summary="Scheduler status: cluster alive, workers, queue size, jobs enabled, next run",
        responses=inline_serializer(
            "SchedulerStatus",
            {
                "cluster_alive": serializers.BooleanField(),
                "clusters": serializers.ListField(child=serializers.DictField()),
                "workers": serializers.IntegerField(),
                "queue_size": serializers.IntegerField(allow_null=True),
                "jobs_total": serializers.IntegerField(),
                "jobs_enabled": serializers.IntegerField(),
                "jobs_running": serializers.ListField(child=serializers.CharField()),
                "overdue_jobs": serializers.ListField(child=serializers.CharField()),
                "next_run": serializers.DictField(allow_null=True),
                "now": serializers.DateTimeField(),
            },
        ),
    )
    def get(self, request):
        return Response(_local_times(selectors.scheduler_status()))


class JobListView(StaffAPIView):
    @extend_schema(summary="Every registered job with its schedule and last run", responses=JobSerializer(many=True))
    def get(self, request):
        return Response(JobSerializer(selectors.jobs_overview(), many=True).data)


class JobDetailView(StaffAPIView):
    parser_classes = [JSONParser]

    @extend_schema(summary="One job", responses=JobSerializer)
    def get(self, request, job_id: str):
        _job_or_404(job_id)
        return Response(JobSerializer(selectors.job_detail(job_id)).data)

    @extend_schema(
        summary="Change a job's cron and/or enabled flag at runtime (kept across re-registration)",
        request=JobEditSerializer,
        responses=JobSerializer,
    )
    def patch(self, request, job_id: str):
        _job_or_404(job_id)
        edit = JobEditSerializer(data=_json_object_body(request))
        edit.is_valid(raise_exception=True)
        try:
            services.update_job_schedule(job_id=job_id, user=request.user, **edit.validated_data)
        except services.InvalidCron as exc:
            raise ValidationError({"cron": [str(exc)]}) from None
        return Response(JobSerializer(selectors.job_detail(job_id)).data)


class CronPreviewView(StaffAPIView):
    """GET /api/v1/scheduler/cron-preview?cron=… — what the scheduler page shows as staff type."""

    throttle_classes = [TokenUserThrottle, CronPreviewThrottle]

    @extend_schema(
        summary="cron 表达式的含义与接下来的运行时间",
        description="Checked by the same rule as saving it; nothing is saved. Throttled per user.",
        parameters=[OpenApiParameter("cron", str, required=True, description="five-field cron, e.g. `*/5 * * * *`")],
        responses=inline_serializer(
            "CronPreview",
            {
                "cron": serializers.CharField(),
                "words": serializers.CharField(),
                "next_runs": serializers.ListField(child=serializers.DateTimeField()),
            },
        ),
    )
    def get(self, request):
        cron = request.query_params.get("cron")
        if cron is None:
            raise ValidationError({"cron": [_("请提供 cron 表达式")]})
        try:
            preview = services.preview_cron(cron)
        except services.InvalidCron as exc:
            raise ValidationError({"cron": [str(exc)]}) from None
        return Response(
            {
                "cron": preview.cron,
                "words": preview.words,
                "next_runs": [moment.isoformat() for moment in preview.next_runs],
            }
        )


class JobTriggerView(StaffAPIView):
    @extend_schema(
        summary="Run a job now, in a worker (202 with the run id)",
        request=None,
        responses={
            202: inline_serializer(
                "JobTriggered",
                {
                    "run_id": serializers.IntegerField(),
                    "status": serializers.CharField(),
                    "already_running": serializers.BooleanField(),
                    "run_url": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request, job_id: str):
        _job_or_404(job_id)
        already_running = job_id in selectors.running_job_ids()
        try:
            run = services.trigger_job(job_id=job_id, user=request.user)
        except services.RunNotAllowed as exc:
            raise PermissionDenied(str(exc)) from None
        url = request.build_absolute_uri(f"/api/v1/scheduler/runs/{run.pk}")
        body = {"run_id": run.pk, "status": run.status, "already_running": already_running, "run_url": url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class JobRunListView(generics.ListAPIView):
    """Paged run history of one job, newest first; `?status=` filters."""

    permission_classes = [IsStaffMember]
    serializer_class = JobRunSerializer
    pagination_class = StandardPagination
    filter_backends = []

    @extend_schema(
        summary="Run history of a job (paged)",
        parameters=[OpenApiParameter("status", str, enum=JobRun.Status.values, required=False)],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        _job_or_404(self.kwargs["job_id"])
        wanted = self.request.query_params.get("status")
        if wanted is not None and wanted not in JobRun.Status.values:
            raise ValidationError({"status": [_("未知状态：%(status)s") % {"status": wanted}]})
        return selectors.job_runs(self.kwargs["job_id"], status=wanted)


class JobRunDetailView(generics.RetrieveAPIView):
    permission_classes = [IsStaffMember]
    serializer_class = JobRunSerializer
    queryset = JobRun.objects.select_related("triggered_by")
    lookup_url_kwarg = "run_id"

    @extend_schema(summary="One run (poll it after a trigger)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class MetricsView(StaffAPIView):
    @extend_schema(
        summary=(
            "Per job: run counts (sla_exceeded: runs that finished over their SLA), last run, "
            "avg/p50/p95/p99/max duration over the last 1,000 runs"
        ),
        responses=inline_serializer(
            "SchedulerMetrics",
            {
                "window": serializers.IntegerField(),
                "jobs": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request):
        return Response(_local_times({"window": selectors.METRICS_WINDOW, "jobs": selectors.job_metrics()}))


class PrometheusMetricsView(StaffAPIView):
    @extend_schema(summary="Prometheus text exposition", responses={(200, "text/plain"): str})
    def get(self, request):
        return HttpResponse(prometheus.exposition(), content_type=prometheus.CONTENT_TYPE)


class ServiceListView(StaffAPIView):
    @extend_schema(
        summary="Metadata of every registered job (the registry)",
        responses=inline_serializer(
            "JobServices",
            {"count": serializers.IntegerField(), "services": serializers.ListField(child=serializers.DictField())},
        ),
    )
    def get(self, request):
        services_list = [spec.as_dict() for spec in registry.all_jobs()]
        return Response({"count": len(services_list), "services": services_list})
