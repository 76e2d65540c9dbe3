"""The notification outbox: the one way the rest of Yunqiao asks for a message to be sent.

A caller writes a `Notification` row inside its own transaction with `enqueue_notification`; the
delivery task is handed to the broker only when that transaction commits, so a rolled-back alert
change never sends anything, and a committed one is never lost (the sweeps in alerts.delivery
pick up a row whose task vanished). Delivery itself is in alerts.delivery.
"""

import logging
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import Channel, Notification

__all__ = ["Channel", "Notification", "enqueue_deliveries", "enqueue_notification"]

logger = logging.getLogger(__name__)

DELIVERY_TASK = "alerts.tasks.deliver_notification"


def enqueue_notification(
    *,
    channel: str,
    address: str,
    title: str,
    text: str,
    link: str = "",
    idempotency_key: str,
    alert_ids: Sequence[int] = (),
) -> Notification:
    """Write a Notification row in the caller's transaction; delivery starts on commit.
    A second call with the same idempotency_key returns the existing row and sends nothing more."""
    if channel not in Channel.values:
        raise ValueError(f"unknown notification channel {channel!r}")
    if not address or not idempotency_key:
        raise ValueError("a notification needs an address and an idempotency_key")
    existing = Notification.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        # A savepoint, so that losing the race to a concurrent writer of the same key leaves the
        # caller's transaction usable.
        with transaction.atomic():
            notification = Notification.objects.create(
                channel=channel,
                address=address.strip(),
                title=title[:200],
                text=text,
                link=link,
                idempotency_key=idempotency_key,
                alert_ids=[int(alert_id) for alert_id in alert_ids],
                enqueued_at=now,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        return Notification.objects.get(idempotency_key=idempotency_key)
    notification_id = notification.pk
    transaction.on_commit(lambda: enqueue_deliveries([notification_id]))
    return notification


def enqueue_deliveries(notification_ids: Iterable[int]) -> None:
    """Hand rows to the workers. A broker failure is logged, not raised: the row is safe and the
    sweep enqueues it again (see alerts.delivery.revive_stalled_notifications)."""
    from django_q.tasks import async_task

    for notification_id in notification_ids:
        try:
            async_task(DELIVERY_TASK, notification_id, group="notifications")
        except Exception:
            logger.exception("could not enqueue notification", extra={"notification_id": notification_id})
