"""Typed errors of the channel clients: whether to retry is decided once, here, at the edge.

The delivery code catches `RetryableChannelError` (try again later, not sooner than
`retry_after` when the provider said so; `rate_limited` when it was a rate-limit answer) or
`PermanentChannelError` (the message can never go out as it is: a bad webhook key, an illegal
phone number; the row goes to dead at once). `code` is stable and short, fit for the
`last_error_code` column; `message` is readable and never carries a secret or a token.
"""


class ChannelError(Exception):
    retryable = False

    def __init__(self, code: str, message: str, *, retry_after: float | None = None, rate_limited: bool = False):
        super().__init__(f"[{code}] {message}")
        self.code = code[:50]
        self.message = message
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class RetryableChannelError(ChannelError):
    """Timeouts, connection errors, 5xx, rate limits, a provider's "system busy"."""

    retryable = True


class PermanentChannelError(ChannelError):
    """A bad address, rejected credentials or signature, a message the provider refuses."""


TIMEOUT = "timeout"
CONNECTION = "connection_error"
BAD_RESPONSE = "bad_response"
RATE_LIMITED = "rate_limited"
