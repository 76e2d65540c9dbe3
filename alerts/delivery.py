"""One delivery attempt of an outbox row: claim it by conditional UPDATE, take a send from the
channel's rate limit, send through the channel client outside any transaction, record the outcome.

pending/failed (due) → sending (under a lease) → sent | failed (retry at `next_attempt_at`) | dead.
Two workers, or a task the broker redelivers, race only on the claim: exactly one wins and sends.
A worker that dies while sending leaves its row `sending`; when the lease has passed, the sweep in
alerts.redelivery puts it back. Rows are changed only by whoever holds the lease.
"""

import logging
import random
import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from alerts import rate_limits
from alerts.channels import sender_for
from alerts.channels.errors import CONNECTION, TIMEOUT, ChannelError, PermanentChannelError, RetryableChannelError
from alerts.models import Channel, Notification

logger = logging.getLogger(__name__)

Status = Notification.Status
CLAIMABLE = (Status.PENDING, Status.FAILED)
INTERNAL_ERROR = "internal_error"
# Outcomes after which the provider may have the message: a lease that expired mid-send (the
# code alerts.redelivery writes) and a request that got no answer.
OUTCOME_UNKNOWN = {"lease_expired", TIMEOUT, CONNECTION}


def retry_delay_s(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter (half fixed, half random), never sooner than the provider asked."""
    ceiling = min(settings.NOTIFY_RETRY_MAX_S, settings.NOTIFY_RETRY_BASE_S * 2 ** max(0, attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not security)
    return max(delay, retry_after or 0.0)


def claim(notification_id: int, *, now: datetime) -> str | None:
    """pending/failed and due → sending under a fresh lease; None when another worker won or the
    row is not due (sent, dead, sending, or waiting for its retry time)."""
    token = secrets.token_hex(16)
    won = (
        Notification.objects.filter(pk=notification_id, status__in=CLAIMABLE)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=Status.SENDING,
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=settings.NOTIFY_LEASE_S),
            next_attempt_at=None,
            updated_at=now,
        )
    )
    return token if won else None


def _held(notification_id: int, lease: str):
    return Notification.objects.filter(pk=notification_id, status=Status.SENDING, lease_token=lease)


def postpone(notification_id: int, lease: str, *, back_to: str, until: datetime, now: datetime) -> None:
    """Give the claim back without sending (the channel's limit is used up until `until`)."""
    _held(notification_id, lease).update(
        status=back_to, lease_token="", lease_expires_at=None, next_attempt_at=until, updated_at=now
    )


def record_sent(notification_id: int, lease: str, *, provider_message_id: str, now: datetime) -> None:
    fields = {
        "status": Status.SENT,
        "sent_at": now,
        "provider_message_id": provider_message_id[:200],
        "attempts": F("attempts") + 1,
        "lease_token": "",
        "lease_expires_at": None,
        "next_attempt_at": None,
        "updated_at": now,
    }
    if not _held(notification_id, lease).update(**fields):
        # Our lease ran out while the provider was answering and a sweep put the row back: it did
        # go out, so say so (and stop a second send, unless another worker has already claimed it).
        Notification.objects.filter(pk=notification_id).exclude(status=Status.SENT).update(**fields)
        logger.warning("notification sent after its lease expired", extra={"notification_id": notification_id})


def record_failure(
    notification_id: int, lease: str, *, error: ChannelError, attempts_before: int, now: datetime
) -> str:
    """After a failed send: dead when permanent or the attempts are spent, else failed with a retry time."""
    attempt = attempts_before + 1
    fields = {
        "attempts": F("attempts") + 1,
        "last_error_code": error.code,
        "last_error_message": error.message,
        "lease_token": "",
        "lease_expires_at": None,
        "updated_at": now,
    }
    if not error.retryable or attempt >= settings.NOTIFY_MAX_ATTEMPTS:
        status, next_attempt_at = Status.DEAD, None
    else:
        status = Status.FAILED
        next_attempt_at = now + timedelta(seconds=retry_delay_s(attempt, error.retry_after))
    _held(notification_id, lease).update(status=status, next_attempt_at=next_attempt_at, **fields)
    return status


def deliver_notification(notification_id: int, *, now: datetime | None = None) -> str:
    """One delivery attempt of one row. Safe to run twice, concurrently, or for a stale task.
    `now` lets tests pass time; the outcome is then recorded on the same shifted clock."""
    skew = (now - timezone.now()) if now else timedelta(0)

    def clock() -> datetime:
        return timezone.now() + skew

    now = clock()
    row = Notification.objects.filter(pk=notification_id).first()
    if row is None or row.status not in CLAIMABLE:
        return "skipped"
    if row.next_attempt_at and row.next_attempt_at > now:
        return "not_due"
    lease = claim(notification_id, now=now)
    if lease is None:
        return "skipped"
    bucket, limit = rate_limits.bucket_for(channel=row.channel, address=row.address)
    free_at = rate_limits.take_slot(bucket=bucket, limit=limit, notification_id=notification_id, now=now)
    if free_at is not None:
        postpone(notification_id, lease, back_to=row.status, until=free_at, now=now)
        return "rate_limited"
    return _send_claimed(row, lease, bucket=bucket, limit=limit, clock=clock)


def _send_claimed(row: Notification, lease: str, *, bucket: str, limit: int, clock) -> str:
    notification_id = row.pk
    send = sender_for(row.channel)
    started = time.monotonic()
    try:
        provider_message_id = _already_sent(row)
        if provider_message_id is None:
            provider_message_id = send(
                address=row.address, title=row.title, text=row.text, link=row.link, idempotency_key=row.idempotency_key
            )
    except (RetryableChannelError, PermanentChannelError) as exc:
        if exc.rate_limited:
            rate_limits.exhaust(bucket=bucket, limit=limit, now=clock())
        status = record_failure(notification_id, lease, error=exc, attempts_before=row.attempts, now=clock())
        log = logger.error if status == Status.DEAD else logger.warning
        log("notification not sent", extra=_log_fields(row, started, status=status, code=exc.code))
        return status
    except Exception as exc:
        # A bug of ours must not lose the message: kept as a retryable failure with its text.
        logger.exception("notification delivery crashed", extra={"notification_id": notification_id})
        error = RetryableChannelError(INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
        return record_failure(notification_id, lease, error=error, attempts_before=row.attempts, now=clock())
    record_sent(notification_id, lease, provider_message_id=provider_message_id, now=clock())
    logger.info("notification sent", extra=_log_fields(row, started, status=Status.SENT))
    return Status.SENT


def _already_sent(row: Notification) -> str | None:
    """When the previous attempt may have reached the provider (its worker died after sending, or
    the answer timed out), ask the provider, where it can tell: Aliyun SMS by our OutId. WeCom app
    messages are deduplicated by WeCom itself, email by its Message-ID; the robot cannot be asked
    (see docs/notifications.md)."""
    if row.channel != Channel.SMS or row.last_error_code not in OUTCOME_UNKNOWN:
        return None
    from alerts.channels import sms

    return sms.find_sent(address=row.address, idempotency_key=row.idempotency_key, since=row.created_at)


def _log_fields(row: Notification, started: float, **extra) -> dict:
    return {
        "notification_id": row.pk,
        "channel": row.channel,
        "attempt": row.attempts + 1,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
        **extra,
    }
