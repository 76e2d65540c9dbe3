"""Typed errors of the Yonyou client: whether to retry is decided once, here, at the edge.

Callers catch `RetryableError` (try again later, honouring `retry_after` when given) or
`PermanentError` (give up and show the message); they never look at HTTP themselves. `code` is
stable and short, fit for an `error_code` column; `message` is readable and never contains the
app secret or an access token.
"""


class YonyouError(Exception):
    retryable = False

    def __init__(self, code: str, message: str, *, http_status: int | None = None, retry_after: float | None = None):
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after


class RetryableError(YonyouError):
    """Timeouts, connection errors, 5xx, rate limits, a token that could not be refreshed."""

    retryable = True


class PermanentError(YonyouError):
    """Validation errors, rejected credentials, unknown paths, missing authorisation."""


# Stable codes used by the client for failures that have no Yonyou code of their own.
TIMEOUT = "timeout"
CONNECTION = "connection_error"
SERVER_ERROR = "server_error"  # suffixed with the HTTP status, e.g. "http_503"
RATE_LIMITED = "rate_limited"
TOKEN_REFRESH_FAILED = "token_refresh_failed"
AUTH_REJECTED = "auth_rejected"
BAD_RESPONSE = "bad_response"
# The codes meaning "no usable access token": every call fails until the credentials work again.
TOKEN_ERROR_CODES = (TOKEN_REFRESH_FAILED, AUTH_REJECTED)
