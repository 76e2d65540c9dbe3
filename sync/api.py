"""REST API of the sync app: synced ERP documents for integrators, sync status and batches for staff.

Sync-status endpoints keep the seed's paths and envelope: `{"status": "success", "data": ...}`;
errors use the project's standard error body (`{"status": "error", "code", "message"}`).
"""

import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import StandardPagination
from config.filters import IntegerFilter, StrictFilterSet
from config.permissions import IsStaffMember, is_staff_member
from config.schema import ErrorSerializer, envelope_of, envelope_schema
from sync import documents, services
from sync.models import BatchStatus, BatchTrigger, DayStatus, SyncBatch, SyncBatchDay, SyncDay

DATE_ERRORS = {"invalid": gettext_lazy("日期格式无效，应为 YYYY-MM-DD"), "required": gettext_lazy("请填写日期")}


def envelope(data, *, http_status: int = status.HTTP_200_OK) -> Response:
    return Response({"status": "success", "data": data}, status=http_status)


class EnvelopePagination(StandardPagination):
    """The seed's list shape: {"status": "success", "data": {"records": [...], "count", ...}}."""

    def get_paginated_response(self, data):
        return envelope(
            {
                "count": self.page.paginator.count,
                "page": self.page.number,
                "page_size": self.get_page_size(self.request),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "records": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["status", "data"],
            "properties": {
                "status": {"type": "string", "example": "success"},
                "data": {
                    "type": "object",
                    "properties": {
                        "count": {"type": "integer"},
                        "page": {"type": "integer"},
                        "page_size": {"type": "integer"},
                        "next": {"type": "string", "nullable": True, "format": "uri"},
                        "previous": {"type": "string", "nullable": True, "format": "uri"},
                        "records": schema,
                    },
                },
            },
        }


BATCH_STARTED = envelope_schema(
    "BatchStarted",
    {
        "batch_id": serializers.IntegerField(allow_null=True),
        "days": serializers.IntegerField(),
        "status": serializers.CharField(required=False),
        "skipped": serializers.BooleanField(required=False),
        "message": serializers.CharField(),
    },
)


class BatchAlreadyRunningError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "batch_running"


class IllegalTransitionError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "illegal_transition"


def _call(action, **kwargs):
    """Run a service, turning its refusals into API errors."""
    try:
        return action(**kwargs)
    except services.InvalidBatchRange as exc:
        raise exceptions.ValidationError(exc.message, code="invalid_range") from None
    except services.BatchAlreadyRunning as exc:
        raise BatchAlreadyRunningError(exc.message) from None
    except services.IllegalBatchTransition as exc:
        raise IllegalTransitionError(exc.message) from None


# --- Synced documents --------------------------------------------------------------------------


class CanReadSyncedDocuments(BasePermission):
    """Staff, or an integrator account granted the model's view permission."""

    def has_permission(self, request, view) -> bool:
        model = view.spec.model
        return is_staff_member(request.user) or request.user.has_perm(
            f"{model._meta.app_label}.view_{model._meta.model_name}"
        )


class DocumentFilter(StrictFilterSet):
    business_date = django_filters.DateFilter()
    business_date_from = django_filters.DateFilter(field_name="business_date", lookup_expr="gte")
    business_date_to = django_filters.DateFilter(field_name="business_date", lookup_expr="lte")
    code = django_filters.CharFilter()
    code_contains = django_filters.CharFilter(field_name="code", lookup_expr="icontains")
    synced_since = django_filters.IsoDateTimeFilter(field_name="synced_at", lookup_expr="gte")


class SalesOrderFilter(DocumentFilter):
    customer = django_filters.CharFilter(field_name="customer_name", lookup_expr="icontains")
    customer_id = django_filters.CharFilter()
    status = IntegerFilter()
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")
    delivery_date_from = django_filters.DateFilter(field_name="delivery_date", lookup_expr="gte")
    delivery_date_to = django_filters.DateFilter(field_name="delivery_date", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=("business_date", "code", "amount", "delivery_date", "pubts"))


class PurchaseOrderFilter(DocumentFilter):
    vendor = django_filters.CharFilter(field_name="vendor_name", lookup_expr="icontains")
    product_code = django_filters.CharFilter()
    status = IntegerFilter()
    arrival_date_from = django_filters.DateFilter(field_name="arrival_date", lookup_expr="gte")
    arrival_date_to = django_filters.DateFilter(field_name="arrival_date", lookup_expr="lte")


class PurchaseArrivalFilter(DocumentFilter):
    vendor = django_filters.CharFilter(field_name="vendor_name", lookup_expr="icontains")
    source_order_code = django_filters.CharFilter()
    product_code = django_filters.CharFilter()


class ReceivableFilter(DocumentFilter):
    customer = django_filters.CharFilter(field_name="customer_name", lookup_expr="icontains")
    due_date_from = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_date_to = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    unpaid = django_filters.BooleanFilter(method="filter_unpaid")

    def filter_unpaid(self, queryset, name, value):
        return queryset.filter(balance__gt=0) if value else queryset.filter(balance__lte=0)


class MaterialStockFilter(DocumentFilter):
    product_code = django_filters.CharFilter()
    warehouse = django_filters.CharFilter(field_name="warehouse_name")


class ProductionOrderFilter(DocumentFilter):
    product_code = django_filters.CharFilter()
    status = IntegerFilter()
    finish_date_from = django_filters.DateFilter(field_name="finish_date", lookup_expr="gte")
    finish_date_to = django_filters.DateFilter(field_name="finish_date", lookup_expr="lte")


FILTERS = {
    "sales_order": SalesOrderFilter,
    "purchase_order": PurchaseOrderFilter,
    "purchase_arrival": PurchaseArrivalFilter,
    "receivable": ReceivableFilter,
    "material_stock": MaterialStockFilter,
    "production_order": ProductionOrderFilter,
}


def document_list_view(doc_type: str):
    """A paginated, filterable read-only list of one synced document type."""
    spec = documents.spec_for(doc_type)
    model = spec.model
    filter_base = FILTERS.get(doc_type, DocumentFilter)
    serializer_class = type(
        f"{model.__name__}Serializer",
        (serializers.ModelSerializer,),
        {"Meta": type("Meta", (), {"model": model, "exclude": ()})},
    )
    filterset_class = type(
        f"{model.__name__}FilterSet", (filter_base,), {"Meta": type("Meta", (), {"model": model, "fields": []})}
    )
    return type(
        f"{model.__name__}ListView",
        (generics.ListAPIView,),
        {
            "spec": spec,
            "queryset": model.objects.order_by("-business_date", "code"),
            "serializer_class": serializer_class,
            "filterset_class": filterset_class,
            "permission_classes": [CanReadSyncedDocuments],
            "pagination_class": StandardPagination,
            "__doc__": f"Synced {model._meta.verbose_name_plural} ({doc_type}), newest business day first.",
        },
    ).as_view()


# --- Per-day status ----------------------------------------------------------------------------


class SyncDaySerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = SyncDay
        fields = (
            "id",
            "sync_date",
            "status",
            "status_display",
            "total_records",
            "success_count",
            "failed_count",
            "document_counts",
            "start_time",
            "end_time",
            "duration_seconds",
            "error_code",
            "error_message",
            "remarks",
            "attempts",
        )


class SyncDayFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=DayStatus.choices)
    start_date = django_filters.DateFilter(field_name="sync_date", lookup_expr="gte")
    end_date = django_filters.DateFilter(field_name="sync_date", lookup_expr="lte")

    class Meta:
        model = SyncDay
        fields = []


class SyncDayListView(generics.ListAPIView):
    """Per-day sync status, newest day first (filters: status, start_date, end_date)."""

    permission_classes = [IsStaffMember]
    queryset = SyncDay.objects.order_by("-sync_date")
    serializer_class = SyncDaySerializer
    filterset_class = SyncDayFilter
    pagination_class = EnvelopePagination


class SyncDateRequest(serializers.Serializer):
    date = serializers.DateField(error_messages=DATE_ERRORS)
    force = serializers.BooleanField(default=False)


class SyncDateView(APIView):
    """Sync one business day in the background (a one-day batch); a synced day is skipped unless force."""

    permission_classes = [IsStaffMember]

    @extend_schema(request=SyncDateRequest, responses={200: BATCH_STARTED, 409: ErrorSerializer})
    def post(self, request):
        params = SyncDateRequest(data=request.data)
        params.is_valid(raise_exception=True)
        day = params.validated_data["date"]
        batch = _call(
            services.start_date_sync,
            business_date=day,
            force=params.validated_data["force"],
            created_by=request.user,
        )
        if batch is None:
            return envelope(
                {
                    "batch_id": None,
                    "days": 0,
                    "skipped": True,
                    "message": _("%(date)s 已同步成功，已跳过；如需重新同步请选择强制同步") % {"date": day},
                }
            )
        return envelope(
            {
                "batch_id": batch.pk,
                "days": 1,
                "skipped": False,
                "message": _("%(date)s 的同步任务已启动") % {"date": day},
            }
        )


# --- Batches -----------------------------------------------------------------------------------


class SyncBatchDaySerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    retry_note = serializers.CharField(read_only=True)

    class Meta:
        model = SyncBatchDay
        fields = (
            "sync_date",
            "status",
            "status_display",
            "records",
            "failed_records",
            "attempts",
            "next_attempt_at",
            "retry_until",
            "retry_note",
            "started_at",
            "finished_at",
            "duration_seconds",
            "error_code",
            "error_message",
        )


class SyncBatchSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    percent = serializers.FloatField(read_only=True)
    eta_seconds = serializers.FloatField(read_only=True, allow_null=True)
    eta = serializers.DateTimeField(read_only=True, allow_null=True)
    elapsed_seconds = serializers.FloatField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = SyncBatch
        fields = (
            "id",
            "status",
            "status_display",
            "is_active",
            "trigger",
            "start_date",
            "end_date",
            "force",
            "total_days",
            "processed_days",
            "success_days",
            "failed_days",
            "skipped_days",
            "total_records",
            "current_date",
            "percent",
            "eta_seconds",
            "eta",
            "elapsed_seconds",
            "cancel_requested",
            "attempts",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "error_message",
        )


class SyncBatchDetailSerializer(SyncBatchSerializer):
    days = SyncBatchDaySerializer(many=True, read_only=True)

    class Meta(SyncBatchSerializer.Meta):
        fields = (*SyncBatchSerializer.Meta.fields, "days")


class BatchRequest(serializers.Serializer):
    start_date = serializers.DateField(error_messages=DATE_ERRORS)
    end_date = serializers.DateField(error_messages=DATE_ERRORS)
    force = serializers.BooleanField(default=False)


class SyncBatchStartView(APIView):
    """Start syncing a date range (at most SYNC_MAX_BATCH_DAYS days); answers at once.

    400 for a bad date, start after end or too long a range; 409 while another batch runs.
    """

    permission_classes = [IsStaffMember]

    @extend_schema(request=BatchRequest, responses={200: BATCH_STARTED, 409: ErrorSerializer})
    def post(self, request):
        params = BatchRequest(data=request.data)
        params.is_valid(raise_exception=True)
        batch = _call(
            services.start_batch,
            start_date=params.validated_data["start_date"],
            end_date=params.validated_data["end_date"],
            force=params.validated_data["force"],
            trigger=BatchTrigger.RANGE,
            created_by=request.user,
        )
        return envelope(
            {
                "batch_id": batch.pk,
                "days": batch.total_days,
                "status": batch.status,
                "message": _("批量同步任务已启动，将同步 %(days)s 天的数据") % {"days": batch.total_days},
            }
        )


class SyncBatchFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=BatchStatus.choices)

    class Meta:
        model = SyncBatch
        fields = []


class SyncBatchListView(generics.ListAPIView):
    """Batches, newest first (filter: status)."""

    permission_classes = [IsStaffMember]
    queryset = SyncBatch.objects.select_related("created_by").order_by("-created_at", "-id")
    serializer_class = SyncBatchSerializer
    filterset_class = SyncBatchFilter
    pagination_class = EnvelopePagination


class SyncBatchDetailView(APIView):
    """One batch with its days, `percent` done and an ETA while it runs."""

    permission_classes = [IsStaffMember]

    @extend_schema(responses=envelope_of(SyncBatchDetailSerializer, "SyncBatchDetailEnvelope"))
    def get(self, request, batch_id: int):
        batch = get_object_or_404(SyncBatch.objects.select_related("created_by"), pk=batch_id)
        return envelope(SyncBatchDetailSerializer(batch).data)


class SyncBatchCancelView(APIView):
    """Stop a batch after the day it is syncing."""

    permission_classes = [IsStaffMember]

    @extend_schema(
        request=None,
        responses={200: envelope_of(SyncBatchSerializer, "SyncBatchCancelEnvelope"), 409: ErrorSerializer},
    )
    def post(self, request, batch_id: int):
        get_object_or_404(SyncBatch, pk=batch_id)
        batch = _call(services.cancel_batch, batch_id=batch_id)
        return envelope(SyncBatchSerializer(batch).data)


class SyncBatchRetryView(APIView):
    """Run a finished batch again over its failed and cancelled days only."""

    permission_classes = [IsStaffMember]

    @extend_schema(
        request=None,
        responses={200: envelope_of(SyncBatchSerializer, "SyncBatchRetryEnvelope"), 409: ErrorSerializer},
    )
    def post(self, request, batch_id: int):
        get_object_or_404(SyncBatch, pk=batch_id)
        batch = _call(services.retry_batch, batch_id=batch_id)
        return envelope(SyncBatchSerializer(batch).data)
