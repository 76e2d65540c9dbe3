"""The HTTP side shared by the channel clients: one pooled httpx client per process, and
transport failures turned into typed errors (healthchecks' `HttpTransport._request` does the same)."""

import logging
import os
import threading
import time

import httpx
from django.conf import settings

from alerts.channels import errors
from alerts.channels.errors import PermanentChannelError, RetryableChannelError

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_client: httpx.Client | None = None
_pid = 0


def client() -> httpx.Client:
    """The process's pooled client; a forked django-q2 worker builds its own."""
    global _client, _pid  # noqa: PLW0603 (one pool per process is the point)
    if _client is None or _pid != os.getpid():
        with _lock:
            if _client is None or _pid != os.getpid():
                _client = httpx.Client(limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))
                _pid = os.getpid()
    return _client


def request_json(method: str, url: str, *, provider: str, answer_4xx: bool = False, **kwargs) -> dict:
    """Send one request and return its JSON object; every failure is a typed channel error.
    `answer_4xx`: the provider explains 4xx answers in a JSON body the caller reads itself."""
    path = httpx.URL(url).path  # logged without the query: it carries keys and tokens
    timeout_s = settings.NOTIFY_TIMEOUT_S
    started = time.monotonic()
    status: int | str = "error"
    try:
        timeout = httpx.Timeout(timeout_s, connect=min(5.0, timeout_s))
        response = client().request(method, url, timeout=timeout, **kwargs)
        status = response.status_code
    except httpx.TimeoutException:
        status = "timeout"
        raise RetryableChannelError(errors.TIMEOUT, f"{provider} did not answer in time") from None
    except httpx.TransportError as exc:
        failure = f"connection to {provider} failed ({type(exc).__name__})"
        raise RetryableChannelError(errors.CONNECTION, failure) from None
    finally:
        logger.info(
            "channel call",
            extra={
                "provider": provider,
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableChannelError(
            f"http_{response.status_code}",
            f"{provider} answered HTTP {response.status_code}",
            retry_after=_retry_after(response),
            rate_limited=response.status_code == 429,
        )
    if response.status_code >= 400 and not answer_4xx:
        raise PermanentChannelError(f"http_{response.status_code}", f"{provider} answered HTTP {response.status_code}")
    try:
        payload = response.json()
    except ValueError:
        failure = f"{provider} answered with something that is not JSON"
        raise RetryableChannelError(errors.BAD_RESPONSE, failure) from None
    if not isinstance(payload, dict):
        raise RetryableChannelError(errors.BAD_RESPONSE, f"{provider} answered with JSON that is not an object")
    return payload


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None
