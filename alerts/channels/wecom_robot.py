"""WeCom group robot (企业微信群机器人): `POST .../cgi-bin/webhook/send?key=KEY` with a markdown
message. Facts (../shared/yonyou-api.md): markdown ≤ 4096 bytes, 20 messages a minute per robot,
errcode 0 ok, 45009 rate limited, 93000 bad key."""

from django.conf import settings

from alerts.channels.errors import PermanentChannelError, RetryableChannelError
from alerts.channels.http import request_json

MARKDOWN_MAX_BYTES = 4096
RATE_LIMITED = 45009
BAD_KEY = 93000
SYSTEM_BUSY = -1
# WeCom counts the robot's limit per minute; after a 45009 nothing gets through before that.
RATE_LIMIT_WAIT_S = 60.0


def markdown(*, title: str, text: str, link: str) -> str:
    """The message as the robot shows it, cut to the robot's size limit (the link is kept)."""
    head = f"**{title}**\n"
    tail = f"\n[查看详情]({link})" if link else ""
    room = MARKDOWN_MAX_BYTES - len(head.encode()) - len(tail.encode())
    body = text.encode()
    if len(body) > room:
        body = body[: room - len("…".encode())].decode(errors="ignore").encode() + "…".encode()
    return head + body.decode() + tail


def send(*, address: str, title: str, text: str, link: str, idempotency_key: str) -> str:
    """Post one markdown message to the robot whose webhook key is `address`; the robot gives no
    message id, so the answer is empty."""
    payload = request_json(
        "POST",
        settings.WECOM_ROBOT_URL,
        provider="WeCom robot",
        params={"key": address},
        json={"msgtype": "markdown", "markdown": {"content": markdown(title=title, text=text, link=link)}},
    )
    errcode = payload.get("errcode")
    if errcode == 0:
        return ""
    message = f"WeCom robot errcode {errcode}: {payload.get('errmsg', '')}"
    if errcode == RATE_LIMITED:
        raise RetryableChannelError(f"wecom_{errcode}", message, retry_after=RATE_LIMIT_WAIT_S, rate_limited=True)
    if errcode == SYSTEM_BUSY or errcode is None:
        raise RetryableChannelError(f"wecom_{errcode}", message)
    # 93000 (bad key), 40008 (bad message type), 45002 (too long) …: resending changes nothing.
    raise PermanentChannelError(f"wecom_{errcode}", message)
