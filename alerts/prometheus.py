"""Prometheus exposition built from the database by a custom collector: every process answers the
same numbers, which survive restarts and cover every worker on every host."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from alerts import registry, selectors
from alerts.alerting.metrics import AlertsCollector
from alerts.models import DURATION_BUCKETS_S, JobStats, ScheduledJob

logger = logging.getLogger(__name__)

# The classic text format (what generate_latest writes), understood by every Prometheus 2.x/3.x.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

RUN_STATUSES = ("success", "failed", "timeout", "skipped")


class SchedulerCollector(Collector):
    """Job counters, durations and last success per job, plus operational gauges."""

    def collect(self):
        yield from self.job_metrics()
        yield from self.cluster_metrics()
        yield from self.app_metrics()

    def job_metrics(self):
        specs = registry.all_jobs()
        stats = {row.job_id: row for row in JobStats.objects.all()}
        schedules = {row.job_id: row for row in ScheduledJob.objects.select_related("schedule")}
        running = selectors.running_job_ids()

        runs = CounterMetricFamily(
            "yunqiao_job_runs", "Finished job runs by outcome, since install.", labels=["job", "status"]
        )
        durations = HistogramMetricFamily(
            "yunqiao_job_duration_seconds", "Duration of job runs that executed.", labels=["job"], unit="seconds"
        )
        last_success = GaugeMetricFamily(
            "yunqiao_job_last_success_timestamp_seconds",
            "Unix time of the job's last successful run (0 if none).",
            labels=["job"],
        )
        enabled = GaugeMetricFamily("yunqiao_job_enabled", "1 if the job's schedule is enabled.", labels=["job"])
        running_gauge = GaugeMetricFamily("yunqiao_job_running", "1 while a run of the job is running.", labels=["job"])
        next_run = GaugeMetricFamily(
            "yunqiao_job_next_run_timestamp_seconds",
            "Unix time of the job's next scheduled run (absent when disabled).",
            labels=["job"],
        )
        for spec in specs:
            counters = stats.get(spec.id) or JobStats(job_id=spec.id)
            for status in RUN_STATUSES:
                runs.add_metric([spec.id, status], counters.count_for(status))
            cumulative = list(counters.duration_buckets or []) + [0] * len(DURATION_BUCKETS_S)
            buckets = [(_bound(bound), cumulative[index]) for index, bound in enumerate(DURATION_BUCKETS_S)]
            buckets.append(("+Inf", counters.duration_count))
            durations.add_metric([spec.id], buckets, sum_value=counters.duration_sum_s)
            last_success.add_metric(
                [spec.id], counters.last_success_at.timestamp() if counters.last_success_at else 0.0
            )
            scheduled = schedules.get(spec.id)
            enabled.add_metric([spec.id], 1.0 if scheduled and scheduled.enabled else 0.0)
            running_gauge.add_metric([spec.id], 1.0 if spec.id in running else 0.0)
            if scheduled and scheduled.next_run:
                next_run.add_metric([spec.id], scheduled.next_run.timestamp())
        yield from (runs, durations, last_success, enabled, running_gauge, next_run)

    def cluster_metrics(self):
        size = selectors.queue_size()
        if size is not None:
            yield GaugeMetricFamily("yunqiao_task_queue_size", "Tasks waiting in the django-q2 broker.", value=size)
        clusters = [c for c in selectors.cluster_stats() if c["status"] not in ("Stopped", "Stopping")]
        yield GaugeMetricFamily("yunqiao_qcluster_clusters", "Running django-q2 clusters.", value=len(clusters))
        yield GaugeMetricFamily(
            "yunqiao_qcluster_workers",
            "Worker processes in running clusters.",
            value=sum(c["workers"] for c in clusters),
        )

    def app_metrics(self):
        """Gauges from the other apps, read through their selectors; one failing app does not
        take the scheduler's own metrics down with it."""
        for name, collect in (
            ("uploads", _upload_gauges),
            ("sync", _sync_gauges),
            ("notifications", _notification_gauges),
        ):
            try:
                yield from collect()
            except Exception:
                logger.exception("metric collection failed", extra={"metric": name})


def _bound(value: float) -> str:
    return repr(float(value))


def _upload_gauges():
    from uploads import selectors as upload_selectors

    counts = upload_selectors.statistics()
    gauge = GaugeMetricFamily("yunqiao_uploads", "Upload records by status (soft-deleted excluded).", labels=["status"])
    for status in ("pending", "uploading", "success", "failed"):
        gauge.add_metric([status], counts[f"{status}_count"])
    yield gauge


def _sync_gauges():
    from sync import selectors as sync_selectors

    batch = sync_selectors.active_batch()
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


def _notification_gauges():
    from django.db.models import Count

    from alerts.models import Channel, Notification

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


def exposition() -> bytes:
    """The Prometheus text format of everything above."""
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(SchedulerCollector())
    collectors.register(AlertsCollector())
    return generate_latest(collectors)
