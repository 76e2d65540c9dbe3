"""What makes delivery certain when a task is lost, and what staff use to send again.

- `dispatch_due_notifications`: rows whose retry time has come are handed to the workers; each
  row is taken by a conditional UPDATE (next_attempt_at → NULL), so two dispatchers never
  enqueue the same row twice.
- `revive_stalled_notifications`: a `sending` row past its lease (its worker died) goes back to
  failed, due now; a pending/failed row handed to the broker long ago whose task never ran is
  made due again. Then everything due is dispatched.
- `resend`: staff send dead (or sent) rows again, as a new attempt on the same row.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import Notification
from alerts.outbox import enqueue_deliveries

logger = logging.getLogger(__name__)

Status = Notification.Status
LEASE_EXPIRED = "lease_expired"


def dispatch_due_notifications(*, now: datetime | None = None, limit: int = 500) -> int:
    """Enqueue pending/failed rows whose `next_attempt_at` has come."""
    now = now or timezone.now()
    due = list(
        Notification.objects.filter(status__in=(Status.PENDING, Status.FAILED), next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    taken = [
        notification_id
        for notification_id, due_at in due
        if Notification.objects.filter(
            pk=notification_id, status__in=(Status.PENDING, Status.FAILED), next_attempt_at=due_at
        ).update(next_attempt_at=None, enqueued_at=now)
    ]
    enqueue_deliveries(taken)
    return len(taken)


def revive_stalled_notifications(*, now: datetime | None = None) -> dict:
    """Put back rows whose worker died mid-send or whose task vanished, then dispatch what is due."""
    now = now or timezone.now()
    revived = 0
    expired = Notification.objects.filter(status=Status.SENDING, lease_expires_at__lt=now)
    for notification_id, lease in expired.values_list("pk", "lease_token"):
        # The provider may or may not have the message: the send counts as an attempt, and the
        # row is sent again (robot and SMS have no dedupe; WeCom app and email do, see channels).
        revived += Notification.objects.filter(pk=notification_id, status=Status.SENDING, lease_token=lease).update(
            status=Status.FAILED,
            attempts=F("attempts") + 1,
            lease_token="",
            lease_expires_at=None,
            next_attempt_at=now,
            last_error_code=LEASE_EXPIRED,
            last_error_message=_("发送进程中断，已重新排队"),
            updated_at=now,
        )
    stale_before = now - timedelta(seconds=settings.NOTIFY_PENDING_STALE_S)
    requeued = (
        Notification.objects.filter(status__in=(Status.PENDING, Status.FAILED), next_attempt_at__isnull=True)
        .filter(Q(enqueued_at__lt=stale_before) | Q(enqueued_at__isnull=True))
        .update(next_attempt_at=now)
    )
    dispatched = dispatch_due_notifications(now=now, limit=5000)
    if revived or requeued:
        logger.warning("stalled notifications revived", extra={"revived_sending": revived, "requeued": requeued})
    return {"revived_sending": revived, "requeued_pending": requeued, "dispatched": dispatched}


def retry_failed_notifications(*, now: datetime | None = None) -> dict:
    """Every failed row that is due goes out again (the hourly safety net of the minute dispatcher)."""
    return {"dispatched": dispatch_due_notifications(now=now, limit=5000)}


def resend(notification_ids: Iterable[int]) -> int:
    """Staff send dead or sent rows again: back to pending with a fresh attempt budget."""
    ids = list(notification_ids)
    now = timezone.now()
    with transaction.atomic():
        chosen = list(
            Notification.objects.filter(pk__in=ids, status__in=(Status.DEAD, Status.SENT)).values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=chosen, status__in=(Status.DEAD, Status.SENT)).update(
            status=Status.PENDING,
            attempts=0,
            next_attempt_at=None,
            enqueued_at=now,
            updated_at=now,
        )
        transaction.on_commit(lambda: enqueue_deliveries(chosen))
    return len(chosen)
