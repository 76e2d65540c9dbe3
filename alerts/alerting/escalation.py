"""Escalation (`check_alert_escalation`): an alert nobody acknowledged within its severity's
window goes to the next step of the escalation chain of the contacts who were told (owner → team
lead → manager, `Contact.escalates_to`), recorded on the alert, with its own message.

Only alerts someone was actually told escalate: a silenced or held alert has woken nobody yet.
Each step is a conditional UPDATE of `escalation_level`, so two checks never both escalate.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.alerting import messages
from alerts.alerting.models import Alert, AlertDelivery, AlertEvent, AlertStatus, Contact
from alerts.alerting.thresholds import threshold_value
from alerts.outbox import enqueue_notification
from alerts.routing import CONTACT_FIELD_OF_CHANNEL, contact_address

logger = logging.getLogger(__name__)


def escalation_window(severity: str) -> timedelta | None:
    seconds = threshold_value(f"escalate_{severity}_s")
    return timedelta(seconds=seconds) if seconds else None


def check_alert_escalation(*, now: datetime | None = None) -> dict:
    """Escalate every firing alert whose current step went unacknowledged past its window."""
    now = now or timezone.now()
    escalated = exhausted = 0
    windows = {severity: escalation_window(severity) for severity in ("info", "warning", "critical")}
    candidates = Alert.objects.filter(status=AlertStatus.FIRING, deliveries__isnull=False).distinct()
    for alert in candidates.order_by("pk"):
        window = windows.get(alert.severity)
        if window is None or (alert.escalated_at or alert.starts_at) > now - window:
            continue
        outcome = _escalate(alert, now)
        escalated += outcome == "escalated"
        exhausted += outcome == "end_of_chain"
    if escalated:
        logger.info("alerts escalated", extra={"escalated": escalated})
    return {"escalated": escalated, "end_of_chain": exhausted}


def _next_step(alert: Alert) -> tuple[list[Contact], list[str]]:
    """The contacts one step up from those told at the current level, and the channels used."""
    current = AlertDelivery.objects.filter(alert=alert, escalation_level=alert.escalation_level)
    channels = list(dict.fromkeys(current.values_list("channel", flat=True)))
    told = Contact.objects.filter(pk__in=current.exclude(contact=None).values("contact_id"))
    above = Contact.objects.filter(
        pk__in=told.exclude(escalates_to=None).values("escalates_to_id"), is_active=True
    ).order_by("name")
    return list(above), channels


def _addresses(contact: Contact, channels: list[str]) -> list[tuple[str, str]]:
    """The contact's addresses on the channels the previous step used, else on any channel."""
    found = [(channel, contact_address(contact, channel)) for channel in channels]
    found = [(channel, address) for channel, address in found if address]
    if not found:
        for channel in CONTACT_FIELD_OF_CHANNEL:
            address = contact_address(contact, channel)
            if address:
                return [(channel, address)]
    return found


def _escalate(alert: Alert, now: datetime) -> str:
    contacts, channels = _next_step(alert)
    if not contacts:
        return "end_of_chain"
    level = alert.escalation_level + 1
    with transaction.atomic():
        claimed = Alert.objects.filter(
            pk=alert.pk, status=AlertStatus.FIRING, escalation_level=alert.escalation_level
        ).update(escalation_level=level, escalated_at=now)
        if not claimed:
            return "taken"
        alert.escalation_level, alert.escalated_at = level, now
        names = [contact.name for contact in contacts]
        title, text, link = messages.escalation_message(alert=alert, level=level, told=names, now=now)
        sent = []
        for contact in contacts:
            for channel, address in _addresses(contact, channels):
                try:
                    with transaction.atomic():
                        AlertDelivery.objects.create(
                            alert=alert,
                            channel=channel,
                            address=address,
                            contact=contact,
                            escalation_level=level,
                            first_notified_at=now,
                            last_notified_at=now,
                        )
                except IntegrityError:
                    continue  # this address already heard about the alert at a lower step
                notification = enqueue_notification(
                    channel=channel,
                    address=address,
                    title=title,
                    text=text,
                    link=link,
                    idempotency_key=f"alert:escalation:{alert.pk}:{level}:{channel}:{address}"[:200],
                    alert_ids=[alert.pk],
                )
                sent.append(notification.pk)
        AlertEvent.objects.create(
            alert=alert,
            kind=AlertEvent.Kind.ESCALATED,
            at=now,
            message=_("升级到第 %(level)s 级：%(names)s") % {"level": level, "names": "、".join(names)},
            data={"level": level, "contacts": names, "notification_ids": sent},
        )
    return "escalated"
