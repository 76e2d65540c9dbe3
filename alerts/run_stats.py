"""Cumulative counters per job (`JobStats`), the source of the Prometheus counters: they only grow,
even when old runs are deleted."""

from __future__ import annotations

from datetime import datetime

from alerts.models import DURATION_BUCKETS_S, JobRun, JobStats


def count_finished_run(
    job_id: str, *, status: str, duration_s: float | None, sla_exceeded: bool, now: datetime
) -> None:
    """Count one finished run; called inside the transaction that recorded its status."""
    stats, _created = JobStats.objects.select_for_update().get_or_create(job_id=job_id)
    setattr(stats, f"{status}_total", stats.count_for(status) + 1)
    if sla_exceeded:
        stats.sla_exceeded_total += 1
    if duration_s is not None:
        buckets = list(stats.duration_buckets or [])
        buckets += [0] * (len(DURATION_BUCKETS_S) - len(buckets))
        for index, bound in enumerate(DURATION_BUCKETS_S):
            if duration_s <= bound:
                buckets[index] += 1
        stats.duration_buckets = buckets[: len(DURATION_BUCKETS_S)]
        stats.duration_count += 1
        stats.duration_sum_s += duration_s
    if status == JobRun.Status.SUCCESS:
        stats.last_success_at = now
    stats.save()
