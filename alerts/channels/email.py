"""Email through Django's SMTP backend: subject = title, a plain-text and an HTML body.

The Message-ID is derived from the idempotency key, so a message sent twice (a worker died
between the send and its record) carries the same id and mail clients show it once."""

import hashlib
import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import format_html, linebreaks

from alerts.channels import errors
from alerts.channels.errors import PermanentChannelError, RetryableChannelError

RATE_LIMIT_REPLIES = {421, 450, 451}  # "try again later": busy, throttled, local error
RATE_LIMIT_WAIT_S = 60.0


def message_id(idempotency_key: str) -> str:
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@yunqiao>"


def html_body(*, title: str, text: str, link: str) -> str:
    link_html = format_html('<p><a href="{}">查看详情</a></p>', link) if link else ""
    return format_html("<h3>{}</h3>{}{}", title, linebreaks(text, autoescape=True), link_html)


def send(*, address: str, title: str, text: str, link: str, idempotency_key: str) -> str:
    """Send one email to `address`; the answer is its Message-ID."""
    plain = f"{text}\n\n查看详情：{link}" if link else text
    msg_id = message_id(idempotency_key)
    connection = get_connection(settings.NOTIFY_EMAIL_BACKEND, fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
    email = EmailMultiAlternatives(
        subject=title,
        body=plain,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"Message-ID": msg_id},
        connection=connection,
    )
    email.attach_alternative(html_body(title=title, text=text, link=link), "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        raise _reply_error(code, reply, "refused the recipient") from None
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth failed …
        raise _reply_error(exc.smtp_code, exc.smtp_error, "refused the message") from None
    except TimeoutError:
        raise RetryableChannelError(errors.TIMEOUT, "the SMTP server did not answer in time") from None
    except (smtplib.SMTPException, OSError) as exc:  # disconnected, connection refused
        raise RetryableChannelError(errors.CONNECTION, f"SMTP connection failed ({type(exc).__name__})") from None
    return msg_id


def _reply_error(code: int, reply: bytes | str, what: str):
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    detail = f"the SMTP server {what}: {code} {text}"
    if 400 <= code < 500:
        limited = code in RATE_LIMIT_REPLIES
        return RetryableChannelError(
            f"smtp_{code}", detail, retry_after=RATE_LIMIT_WAIT_S if limited else None, rate_limited=limited
        )
    return PermanentChannelError(f"smtp_{code}", detail)
