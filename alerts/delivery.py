"""Delivery of outbox rows: claim by conditional UPDATE, send through the channel client, record
the outcome. (The seam is committed first; sending follows in the next commits.)"""


def deliver_notification(notification_id: int) -> str:
    """One delivery attempt; until the channel clients land, rows stay pending for the sweep."""
    return "not_implemented"
