"""Per-channel send limits shared by every worker on every host, kept in the database (so they
hold on SQLite and PostgreSQL alike, with or without Redis).

A bucket (one WeCom robot, or a whole channel) has N `RateSlot` rows; a send takes a slot whose
last use is older than the window, by a conditional UPDATE on the value it read, so two workers
never take the same slot. N slots that each serve once per window make a sliding window: never
more than N sends in any window-long span, which is how the providers count.
"""

import hashlib
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min, Q

from alerts.models import Channel, RateSlot

WINDOW_S = 60.0
# A slot serves again only a little after the window: our clock marks the slot before the
# request reaches the provider, so without a margin two sends 60.0 s apart by our clock could
# land 59.9 s apart by theirs.
MARGIN_S = 1.0


def bucket_for(*, channel: str, address: str) -> tuple[str, int]:
    """(bucket name, sends per window): WeCom limits each robot; the other limits are ours."""
    if channel == Channel.WECOM_ROBOT:
        digest = hashlib.sha256(address.encode()).hexdigest()[:24]  # the key is a secret: not stored
        return f"wecom_robot:{digest}", settings.WECOM_ROBOT_PER_MIN
    limits = {
        Channel.WECOM_APP: settings.WECOM_APP_PER_MIN,
        Channel.SMS: settings.SMS_PER_MIN,
        Channel.EMAIL: settings.EMAIL_PER_MIN,
    }
    return channel, limits[channel]


def _ensure_slots(bucket: str, limit: int) -> None:
    if RateSlot.objects.filter(bucket=bucket, number__lt=limit).count() < limit:
        RateSlot.objects.bulk_create(
            [RateSlot(bucket=bucket, number=number) for number in range(limit)], ignore_conflicts=True
        )


def take_slot(*, bucket: str, limit: int, notification_id: int, now: datetime) -> datetime | None:
    """Take one send of the bucket's window. None when taken; otherwise the time a slot frees."""
    if limit <= 0:
        return None
    _ensure_slots(bucket, limit)
    free = Q(used_at__isnull=True) | Q(used_at__lte=now - timedelta(seconds=WINDOW_S + MARGIN_S))
    slots = RateSlot.objects.filter(bucket=bucket, number__lt=limit)
    candidates = list(slots.filter(free).values_list("number", "used_at")[:8])
    random.shuffle(candidates)  # spread contention between workers
    for number, used_at in candidates:
        # Conditional on the value read (None means IS NULL): a slot another worker took since is lost.
        if slots.filter(number=number, used_at=used_at).update(used_at=now, notification_id=notification_id):
            return None
    oldest = slots.aggregate(oldest=Min("used_at"))["oldest"] or now
    return max(now, oldest + timedelta(seconds=WINDOW_S + MARGIN_S))


def exhaust(*, bucket: str, limit: int, now: datetime) -> None:
    """The provider answered "rate limited" (someone else uses the robot too): no worker sends
    to this bucket again before a window has passed."""
    if limit > 0:
        _ensure_slots(bucket, limit)
        RateSlot.objects.filter(bucket=bucket, number__lt=limit).update(used_at=now)
