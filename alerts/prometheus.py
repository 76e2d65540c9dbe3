"""Prometheus exposition built from the database by a custom collector: every process answers the
same numbers, which survive restarts and cover every worker on every host."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from alerts import registry, selectors
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

    def job_metrics(self):
        specs = registry.all_jobs()
        stats = {row.job_id: row for row in JobStats.objects.all()}
        schedules = {row.job_id: row for row in ScheduledJob.objects.select_related("schedule")}
        running = selectors.running_job_ids()

        runs = CounterMetricFamily(
            "yunqiao_job_runs", "Finished job runs by outcome, since install.", labels=["job", "status"]
        )
        sla_exceeded = CounterMetricFamily(
            "yunqiao_job_sla_exceeded",
            "Job runs that ran to their end but took longer than the job's SLA, since install.",
            labels=["job"],
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
            sla_exceeded.add_metric([spec.id], counters.sla_exceeded_total)
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
        yield from (runs, sla_exceeded, durations, last_success, enabled, running_gauge, next_run)

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


def _bound(value: float) -> str:
    return repr(float(value))


# --- The apps' own metrics -------------------------------------------------------------------

AppMetrics = Callable[[], Iterable[Metric]]
_app_metrics: dict[str, AppMetrics] = {}


def app_metrics(name: str) -> Callable[[AppMetrics], AppMetrics]:
    """Add an app's metric families to the exposition: each app declares its own, next to its
    selectors, in `<app>/metrics.py` (imported by `autodiscover()`), so the scheduler does not
    depend on the apps it serves.

        @app_metrics("uploads")
        def upload_metrics():
            yield GaugeMetricFamily(...)
    """

    def register(collect: AppMetrics) -> AppMetrics:
        _app_metrics[name] = collect
        return collect

    return register


def unregister_app_metrics(name: str) -> None:
    """Remove an app's metrics from this process (tests declaring throwaway metrics use it)."""
    _app_metrics.pop(name, None)


def autodiscover() -> None:
    """Import every installed app's `metrics` module, which registers its metrics."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("metrics")


class AppMetricsCollector(Collector):
    """The metrics apps registered; one failing app leaves out only its own families."""

    def collect(self):
        for name, collect in sorted(_app_metrics.items()):
            try:
                families = list(collect())
            except Exception:
                logger.exception("metric collection failed", extra={"metric": name})
                continue
            yield from families


def exposition() -> bytes:
    """The Prometheus text format of the scheduler's metrics and every app's."""
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(SchedulerCollector())
    collectors.register(AppMetricsCollector())
    return generate_latest(collectors)
