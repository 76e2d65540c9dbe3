"""The notifications API (staff): the outbox rows and their delivery state. Read-only; staff send
again with the admin's resend action."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError

from alerts.models import Channel, Notification
from config.api import StandardPagination
from config.permissions import IsStaffMember


class NotificationSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display")
    channel_display = serializers.CharField(source="get_channel_display")
    address = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "channel",
            "channel_display",
            "address",
            "title",
            "text",
            "link",
            "idempotency_key",
            "alert_ids",
            "status",
            "status_display",
            "attempts",
            "next_attempt_at",
            "last_error_code",
            "last_error_message",
            "provider_message_id",
            "sent_at",
            "created_at",
        ]

    def get_address(self, notification: Notification) -> str:
        # A robot's webhook key lets anyone post to the group: never shown whole.
        if notification.channel == Channel.WECOM_ROBOT:
            return masked(notification.address)
        return notification.address


def masked(secret: str) -> str:
    return f"{secret[:4]}…{secret[-2:]}" if len(secret) > 8 else "…"


class NotificationListView(generics.ListAPIView):
    """Paged notifications, newest first; `?status=` and `?channel=` filter."""

    permission_classes = [IsStaffMember]
    serializer_class = NotificationSerializer
    pagination_class = StandardPagination
    filter_backends = []

    @extend_schema(
        summary="Notifications and their delivery state (paged)",
        parameters=[
            OpenApiParameter("status", str, enum=Notification.Status.values, required=False),
            OpenApiParameter("channel", str, enum=Channel.values, required=False),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        queryset = Notification.objects.all()
        params = self.request.query_params
        # `?status=` is refused like any value outside the schema's enum, not read as "any".
        status, channel = params.get("status"), params.get("channel")
        if status is not None and status not in Notification.Status.values:
            raise ValidationError({"status": [_("未知状态：%(status)s") % {"status": status}]})
        if channel is not None and channel not in Channel.values:
            raise ValidationError({"channel": [_("未知渠道：%(channel)s") % {"channel": channel}]})
        if status:
            queryset = queryset.filter(status=status)
        if channel:
            queryset = queryset.filter(channel=channel)
        return queryset
