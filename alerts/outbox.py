"""The notification outbox: the one way the rest of Yunqiao asks for a message to be sent.

A caller writes a `Notification` row inside its own transaction with `enqueue_notification`; the
delivery task is handed to the broker only when that transaction commits, so a rolled-back alert
change never sends anything, and a committed one is never lost (the sweeps in alerts.redelivery
pick up a row whose task vanished). Delivery itself is in alerts.delivery.

A broker call costs 20–35 ms, so the rows a transaction writes are handed over together at its
commit: one task per NOTIFY_DELIVERY_BATCH rows, not one per row (a project sync page announcing
50 status changes makes 3 broker calls, not 50).
"""

import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from alerts.models import Channel, Notification, NotificationAlert

__all__ = ["Channel", "Notification", "enqueue_deliveries", "enqueue_notification", "notifications_for_alert"]

logger = logging.getLogger(__name__)

DELIVERY_TASK = "alerts.tasks.deliver_notifications"
ADDRESS_MAX = Notification._meta.get_field("address").max_length
KEY_MAX = Notification._meta.get_field("idempotency_key").max_length


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
    if len(address) > ADDRESS_MAX or len(idempotency_key) > KEY_MAX:
        # Refused here rather than cut: a cut address reaches someone else, a cut key merges messages.
        raise ValueError(f"address (≤ {ADDRESS_MAX}) or idempotency_key (≤ {KEY_MAX}) too long")
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
                alert_ids=sorted({int(alert_id) for alert_id in alert_ids}),
                enqueued_at=now,
                created_at=now,
                updated_at=now,
            )
            NotificationAlert.objects.bulk_create(
                [NotificationAlert(notification=notification, alert_id=alert_id) for alert_id in notification.alert_ids]
            )
    except IntegrityError:
        return Notification.objects.get(idempotency_key=idempotency_key)
    _deliver_on_commit(notification.pk)
    return notification


class _CommitBatch:
    """The rows written by one transaction, handed to the workers together when it commits."""

    def __init__(self, ids: list[int], savepoints: list[str]):
        self.ids = ids
        self.savepoints = savepoints  # where it was registered (Django drops it with them)

    def flush(self) -> None:
        connection = transaction.get_connection()
        if getattr(connection, "_outbox_batch", None) is self:
            connection._outbox_batch = None
        enqueue_deliveries(self.ids)


def _deliver_on_commit(notification_id: int) -> None:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        enqueue_deliveries([notification_id])
        return
    batch = getattr(connection, "_outbox_batch", None)
    if batch is None or not any(func == batch.flush for _sids, func, _robust in connection.run_on_commit):
        # First row of this transaction, or the batch's callback went with a rolled-back savepoint
        # or transaction. Within the same outer transaction, its ids go on: a row written before
        # that savepoint must still be sent (one written inside it is gone, and a worker skips it).
        same_transaction = (
            batch is not None and connection.savepoint_ids[:1] and batch.savepoints[:1] == connection.savepoint_ids[:1]
        )
        batch = _CommitBatch(list(batch.ids) if same_transaction else [], list(connection.savepoint_ids))
        connection._outbox_batch = batch
        transaction.on_commit(batch.flush)
    batch.ids.append(notification_id)


def notifications_for_alert(alert_id: int) -> QuerySet[Notification]:
    """The notifications sent (or being sent) about one alert, newest first: its timeline's part."""
    return Notification.objects.filter(alert_links__alert_id=alert_id).order_by("-created_at", "-id")


def enqueue_deliveries(notification_ids: Iterable[int]) -> None:
    """Hand rows to the workers, NOTIFY_DELIVERY_BATCH per task. A broker failure is logged, not
    raised: the rows are safe and the sweep enqueues them again (alerts.redelivery)."""
    from django_q.tasks import async_task

    ids = list(dict.fromkeys(notification_ids))
    size = max(1, settings.NOTIFY_DELIVERY_BATCH)
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        try:
            async_task(DELIVERY_TASK, chunk, group="notifications")
        except Exception:
            logger.exception("could not enqueue notifications", extra={"notification_ids": chunk})
