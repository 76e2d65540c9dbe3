"""Project-wide django-q2 tasks."""


def ping(value: str = "pong") -> str:
    """Round-trip probe: operators (and tests) enqueue it to prove a worker picks up work."""
    return value
