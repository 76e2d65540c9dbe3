"""The uploads app's Prometheus metrics (autodiscovered by alerts.prometheus)."""

from prometheus_client.core import GaugeMetricFamily

from alerts.prometheus import app_metrics
from uploads import selectors


@app_metrics("uploads")
def upload_metrics():
    counts = selectors.statistics()
    gauge = GaugeMetricFamily("yunqiao_uploads", "Upload records by status (soft-deleted excluded).", labels=["status"])
    for status in ("pending", "uploading", "success", "failed"):
        gauge.add_metric([status], counts[f"{status}_count"])
    yield gauge
