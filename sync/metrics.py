"""The sync app's Prometheus metrics (autodiscovered by alerts.prometheus)."""

from prometheus_client.core import GaugeMetricFamily

from alerts.prometheus import app_metrics
from sync import selectors


@app_metrics("sync")
def sync_metrics():
    batch = selectors.active_batch()
    running = batch is not None and batch.status == "syncing"
    yield GaugeMetricFamily(
        "yunqiao_sync_batch_running", "1 while a batch sync is running.", value=1.0 if running else 0.0
    )
    yield GaugeMetricFamily(
        "yunqiao_sync_batch_queued", "1 while a batch sync waits to start.", value=1.0 if batch and not running else 0.0
    )
    progress = GaugeMetricFamily(
        "yunqiao_sync_batch_progress_ratio", "Processed share of the active batch's days (0 to 1)."
    )
    if batch is not None and batch.total_days:
        progress.add_metric([], batch.processed_days / batch.total_days)
    yield progress
