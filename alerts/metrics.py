"""The alerts app's own Prometheus series (open alerts, the notification outbox), registered like
every other app's so that the exposition treats them alike."""

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from alerts.alerting.metrics import AlertsCollector
from alerts.models import Channel, Notification
from alerts.prometheus import app_metrics


@app_metrics("alerts")
def alert_metrics():
    yield from AlertsCollector().collect()


@app_metrics("notifications")
def notification_metrics():
    counts = {
        (row["channel"], row["status"]): row["total"]
        for row in Notification.objects.values("channel", "status").annotate(total=Count("id"))
    }
    gauge = GaugeMetricFamily(
        "yunqiao_notifications", "Outbox notifications by channel and delivery status.", labels=["channel", "status"]
    )
    for channel in Channel.values:
        for status in Notification.Status.values:
            gauge.add_metric([channel, status], counts.get((channel, status), 0))
    yield gauge
