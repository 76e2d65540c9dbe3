"""One client module per channel, each with the same `send(...)` signature and typed errors
(alerts.channels.errors): wecom_robot, wecom_app, sms, email."""

from collections.abc import Callable

from alerts.models import Channel


def sender_for(channel: str) -> Callable[..., str]:
    """The `send(*, address, title, text, link, idempotency_key) -> provider message id` of a channel."""
    from alerts.channels import email, sms, wecom_app, wecom_robot

    return {
        Channel.WECOM_ROBOT: wecom_robot.send,
        Channel.WECOM_APP: wecom_app.send,
        Channel.SMS: sms.send,
        Channel.EMAIL: email.send,
    }[channel]
