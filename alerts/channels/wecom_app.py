"""WeCom application message (企业微信应用消息) to one user id: `gettoken` with the corp id and
the app's secret (the token is shared by every worker through the cache), then `message/send`
with a text card. WeCom's own duplicate check (same content within 30 min) is switched on, so a
send repeated after a worker died between the send and its record is dropped by WeCom."""

import threading

from django.conf import settings
from django.core.cache import cache

from alerts.channels.errors import PermanentChannelError, RetryableChannelError
from alerts.channels.http import request_json

TOKEN_CACHE_KEY = "wecom:access_token"
TOKEN_REJECTED = {40014, 42001}  # invalid / expired access_token: fetch a new one, send once more
RATE_LIMITED = {45009, 45033}  # API frequency / concurrency limits
SYSTEM_BUSY = -1
TITLE_MAX_BYTES = 128
DESCRIPTION_MAX_BYTES = 512
TEXT_MAX_BYTES = 2048
DUPLICATE_CHECK_S = 1800
RATE_LIMIT_WAIT_S = 60.0

_token_lock = threading.Lock()


def _cut(value: str, max_bytes: int) -> str:
    raw = value.encode()
    if len(raw) <= max_bytes:
        return value
    return raw[: max_bytes - 3].decode(errors="ignore") + "…"


def message(*, address: str, title: str, text: str, link: str) -> dict:
    body: dict = {
        "touser": address,
        "agentid": settings.WECOM_AGENT_ID,
        "enable_duplicate_check": 1,
        "duplicate_check_interval": DUPLICATE_CHECK_S,
    }
    if link:
        body["msgtype"] = "textcard"
        body["textcard"] = {
            "title": _cut(title, TITLE_MAX_BYTES),
            "description": _cut(text, DESCRIPTION_MAX_BYTES),
            "url": link,
            "btntxt": "查看详情",
        }
    else:
        body["msgtype"] = "text"
        body["text"] = {"content": _cut(f"{title}\n{text}", TEXT_MAX_BYTES)}
    return body


def send(*, address: str, title: str, text: str, link: str, idempotency_key: str) -> str:
    """Send one message to the WeCom user `address`; the answer is WeCom's msgid."""
    body = message(address=address, title=title, text=text, link=link)
    token = access_token()
    payload = _post(token, body)
    if payload.get("errcode") in TOKEN_REJECTED:
        payload = _post(refresh_token(rejected=token), body)
    errcode = payload.get("errcode")
    detail = f"WeCom errcode {errcode}: {payload.get('errmsg', '')}"
    if errcode == 0:
        if payload.get("invaliduser"):
            raise PermanentChannelError("wecom_invalid_user", f"WeCom does not know user {payload['invaliduser']}")
        return str(payload.get("msgid") or "")
    if errcode in RATE_LIMITED:
        raise RetryableChannelError(f"wecom_{errcode}", detail, retry_after=RATE_LIMIT_WAIT_S, rate_limited=True)
    if errcode == SYSTEM_BUSY or errcode is None or errcode in TOKEN_REJECTED:
        raise RetryableChannelError(f"wecom_{errcode}", detail)
    raise PermanentChannelError(f"wecom_{errcode}", detail)  # 81013 unknown user, 60020 IP not allowed …


def _post(token: str, body: dict) -> dict:
    return request_json(
        "POST",
        f"{settings.WECOM_API_URL}/message/send",
        provider="WeCom",
        params={"access_token": token},
        json=body,
    )


def access_token() -> str:
    cached = cache.get(TOKEN_CACHE_KEY)
    if cached:
        return cached
    with _token_lock:
        return cache.get(TOKEN_CACHE_KEY) or _fetch_token()


def refresh_token(*, rejected: str) -> str:
    with _token_lock:
        current = cache.get(TOKEN_CACHE_KEY)
        if current and current != rejected:
            return current
        cache.delete(TOKEN_CACHE_KEY)
        return _fetch_token()


def _fetch_token() -> str:
    payload = request_json(
        "GET",
        f"{settings.WECOM_API_URL}/gettoken",
        provider="WeCom",
        params={"corpid": settings.WECOM_CORP_ID, "corpsecret": settings.WECOM_CORP_SECRET},
    )
    errcode = payload.get("errcode")
    if errcode == SYSTEM_BUSY:
        raise RetryableChannelError(f"wecom_{errcode}", "WeCom is busy issuing a token")
    if errcode != 0 or not payload.get("access_token"):
        raise PermanentChannelError(
            f"wecom_{errcode}", f"WeCom refused the corp id / app secret ({errcode}: {payload.get('errmsg', '')})"
        )
    # Cached until a minute before WeCom expires it, so no caller uses a dying token.
    cache.set(TOKEN_CACHE_KEY, payload["access_token"], timeout=max(1, int(payload.get("expires_in", 7200)) - 60))
    return payload["access_token"]
