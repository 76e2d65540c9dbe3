"""When a batch day that failed with a transient error is tried again: exponential backoff with
jitter, within the day's retry horizon (SYNC_DAY_RETRY_HORIZON_S from its first transient failure)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from sync.models import SyncBatchDay


def retry_delay_s(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before the attempt after `attempt`: base * 2^(attempt-1) capped at the maximum, half
    of it random so that days (and hosts) failing together do not retry together; never shorter
    than the ERP's Retry-After."""
    ceiling = min(settings.SYNC_DAY_RETRY_MAX_S, settings.SYNC_DAY_RETRY_BASE_S * 2 ** max(0, attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not security)
    return max(delay, retry_after or 0.0)


def next_attempt(*, day_id: int, retry_after: float | None = None) -> tuple[datetime, datetime] | None:
    """When the batch day should be tried again and when its retry horizon ends, or None when
    the horizon is used up (the horizon starts at the day's first transient failure)."""
    day = SyncBatchDay.objects.only("attempts", "retry_until").get(pk=day_id)
    now = timezone.now()
    horizon_ends = day.retry_until or now + timedelta(seconds=settings.SYNC_DAY_RETRY_HORIZON_S)
    if now >= horizon_ends:
        return None
    return min(now + timedelta(seconds=retry_delay_s(day.attempts, retry_after)), horizon_ends), horizon_ends
