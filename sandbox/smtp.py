"""A real SMTP server for the sandbox (aiosmtpd, in a thread of the sandbox process): what it
accepts is listed as `emails` in `GET /__sandbox__/state`. A recipient whose local part contains
"unknown" is refused with 550 (permanent); past `per_min` messages per sliding minute it answers
421 (try later); `fail_next`/`error` make it answer the next messages with that reply code."""

import asyncio
import random
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from sandbox.server import SandboxState, now_iso


class SandboxMailbox:
    """The aiosmtpd handler: checks recipients and faults, then records the message."""

    def __init__(self, state: SandboxState):
        self.state = state

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "unknown" in address.split("@", 1)[0]:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        messaging = self.state.messaging
        self.state.count("smtp")
        faults = messaging.faults("smtp")
        low, high = faults["latency_ms"]
        if high > 0:
            await asyncio.sleep(random.uniform(low, high) / 1000)  # noqa: S311 (test data)
        if messaging.take_fault("smtp", "hang_next"):
            await asyncio.sleep(float(faults["hang_s"]))
        if messaging.take_fault("smtp", "fail_next"):
            code = int(faults["error"] or 451)
            return f"{code} {'4.3.0' if code < 500 else '5.3.0'} injected fault"
        if not messaging.within_limit("smtp"):
            return "421 4.7.0 too many messages, try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        messaging.record(
            "emails",
            {
                "received_at": now_iso(),
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(message["Subject"] or ""),
                "message_id": str(message["Message-ID"] or ""),
                "text": plain.get_content() if plain else "",
                "html": html.get_content() if html else "",
            },
        )
        return "250 Message accepted for delivery"


def start_smtp_server(host: str, port: int, state: SandboxState) -> Controller:
    """Start the SMTP server in its own thread; the caller stops it with `.stop()`."""
    controller = Controller(SandboxMailbox(state), hostname=host, port=port, ready_timeout=10)
    controller.start()
    return controller
