"""Alerts REST API (staff only): list with filters, acknowledge, resolve, silences."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.alerting import lifecycle, selectors, suppression
from alerts.alerting.models import Alert, AlertEvent, Severity, Silence
from alerts.notifications_api import NotificationSerializer
from alerts.outbox import notifications_for_alert
from config.api import StandardPagination
from config.permissions import IsStaffMember
from config.schema import ErrorSerializer


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class AlertEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = AlertEvent
        fields = ["kind", "at", "actor", "message", "data"]


class AlertSerializer(serializers.ModelSerializer):
    rule_name = serializers.SerializerMethodField()
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", default=None)
    resolved_by = serializers.CharField(source="resolved_by.username", default=None)
    silenced_by = serializers.SerializerMethodField(help_text="id of the active silence covering the alert")
    held_by = serializers.SerializerMethodField(help_text="id of the inhibiting alert holding it")

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "rule_name",
            "key",
            "severity",
            "category",
            "title",
            "detail",
            "labels",
            "project",
            "link",
            "status",
            "starts_at",
            "last_seen_at",
            "occurrences",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledge_comment",
            "resolved_at",
            "resolved_by",
            "resolved_how",
            "escalation_level",
            "escalated_at",
            "silenced_by",
            "held_by",
        ]

    def get_rule_name(self, alert) -> str:
        return selectors.rule_name(alert.rule)

    def get_silenced_by(self, alert) -> int | None:
        silence = getattr(alert, "silenced_by", None)
        return silence.pk if silence else None

    def get_held_by(self, alert) -> int | None:
        hold = getattr(alert, "held_by", None)
        return hold.source_alert_id if hold else None


class AlertDetailSerializer(AlertSerializer):
    events = AlertEventSerializer(many=True, read_only=True)
    notifications = serializers.SerializerMethodField(help_text="messages about this alert, newest first")

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "events", "notifications"]

    @extend_schema_field(NotificationSerializer(many=True))
    def get_notifications(self, alert) -> list:
        return NotificationSerializer(notifications_for_alert(alert.pk), many=True).data


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "maxItems": suppression.MAX_MATCHERS,
        "items": {
            "type": "object",
            "required": ["name", "value"],
            "properties": {
                "name": {"type": "string", "pattern": r"\S"},
                "op": {"type": "string", "enum": list(suppression.OPERATORS), "default": "="},
                "value": {"type": "string"},
            },
        },
    }
)
class MatchersField(serializers.JSONField):
    """The schema of `matchers`, which suppression.validate_matchers checks."""


class SilenceSerializer(serializers.ModelSerializer):
    matchers = MatchersField(help_text=Silence._meta.get_field("matchers").help_text)
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = Silence
        fields = ["id", "matchers", "starts_at", "ends_at", "comment", "created_by", "created_at", "active"]
        read_only_fields = ["id", "created_by", "created_at", "active"]
        extra_kwargs = {"starts_at": {"required": False}}

    def get_active(self, silence) -> bool:
        return silence.is_active()


@extend_schema(
    parameters=[
        OpenApiParameter("state", str, enum=selectors.STATES, description="default: open (firing or acknowledged)"),
        OpenApiParameter("rule"),
        OpenApiParameter("severity", str, enum=Severity.values),
        OpenApiParameter("project"),
        OpenApiParameter("label", str, pattern="^[^=]+=", description="name=value, repeatable", many=True),
    ]
)
class AlertListView(generics.ListAPIView):
    permission_classes = [IsStaffMember]
    serializer_class = AlertSerializer
    pagination_class = StandardPagination

    def get_queryset(self):
        query = self.request.query_params
        for name in ("state", "severity"):  # an empty choice is a mistake, not "any" (the schema's enum)
            if query.get(name) == "":
                raise ValidationError({name: [_("不能为空；不筛选请省略此参数")]})
        try:
            return selectors.alert_list(
                state=query.get("state", "open"),
                rule=query.get("rule", ""),
                severity=query.get("severity", ""),
                project=query.get("project", ""),
                labels=query.getlist("label"),
            )
        except selectors.InvalidFilter as exc:
            raise ValidationError({"detail": [str(exc)]}) from None

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        selectors.with_suppression(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class AlertDetailView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(responses=AlertDetailSerializer)
    def get(self, request, alert_id: int):
        alert = get_object_or_404(Alert.objects.prefetch_related("events__actor"), pk=alert_id)
        selectors.with_suppression([alert])
        return Response(AlertDetailSerializer(alert).data)


class AlertTransitionView(APIView):
    permission_classes = [IsStaffMember]
    transition = None

    @extend_schema(request=CommentSerializer, responses={200: AlertDetailSerializer, 409: ErrorSerializer})
    def post(self, request, alert_id: int):
        get_object_or_404(Alert, pk=alert_id)
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            alert = type(self).transition(alert_id=alert_id, user=request.user, comment=body.validated_data["comment"])
        except lifecycle.IllegalAlertTransition as exc:
            raise Conflict(str(exc)) from None
        return Response(AlertDetailSerializer(alert).data)


class AcknowledgeView(AlertTransitionView):
    transition = lifecycle.acknowledge_alert


class ResolveView(AlertTransitionView):
    transition = lifecycle.resolve_alert


class SilenceListView(generics.ListCreateAPIView):
    permission_classes = [IsStaffMember]
    serializer_class = SilenceSerializer
    pagination_class = StandardPagination
    queryset = Silence.objects.select_related("created_by").order_by("-starts_at", "-id")

    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            silence = suppression.create_silence(user=request.user, **body.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError({"detail": exc.messages}) from None
        return Response(self.get_serializer(silence).data, status=status.HTTP_201_CREATED)


class SilenceDetailView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(request=None, responses={204: None, 409: ErrorSerializer})
    def delete(self, request, silence_id: int):
        try:
            suppression.expire_silence(silence_id=silence_id)
        except Silence.DoesNotExist:
            raise Http404(_("没有这个静默")) from None
        except suppression.SilenceNotActive as exc:
            raise Conflict(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
