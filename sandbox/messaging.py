"""What the sandbox's messaging remotes (WeCom robot and app, Aliyun SMS, SMTP) share: their
deterministic faults, their per-minute limits and the log of what they received.

Faults are set through `POST /__sandbox__/faults` under one key per remote, e.g.
`{"wecom_robot": {"fail_next": 2, "error": 45009}}` (the next two messages are refused with
45009), `{"sms": {"error": "isp.SYSTEM_ERROR", "fail_next": -1}}` (every one, until changed),
`{"wecom_robot": {"hang_next": 1, "hang_s": 30}}` (hold the next message 30 s before handling
it), `{"sms": {"fail_rate": 0.3, "error": "isp.SYSTEM_ERROR"}}` (a random 30 %, for trying by
hand), `{"smtp": {"per_min": 50}}`, `{"wecom_app": {"latency_ms": [20, 80]}}`, and
`{"wecom_robot": {"pass_s": 61}}` (the remote's per-minute windows age by 61 s, for tests that
pass the time instead of waiting). Received messages
are listed by `GET /__sandbox__/state` as `wecom_messages`, `sms_messages` and `emails`.
"""

import random
import threading
import time
from collections import defaultdict, deque

REMOTES = ("wecom_robot", "wecom_app", "sms", "smtp")
LOGS = ("wecom_messages", "sms_messages", "emails")

# `per_min`: accepted messages per sliding minute (per robot key for the robot, per remote for
# the others); 0 means no limit. WeCom's robot limit is documented (20); the others are the
# defaults of Yunqiao's own settings, so a default deployment never hits them.
DEFAULT_FAULTS = {
    "wecom_robot": {"per_min": 20},
    "wecom_app": {"per_min": 0},
    "sms": {"per_min": 100},
    "smtp": {"per_min": 300},
}
FAULT_FIELDS = {"per_min", "fail_next", "fail_rate", "error", "hang_next", "hang_rate", "hang_s", "latency_ms"}
# A countdown and the random rate that applies once it is spent (rates are for trying things by
# hand; tests use the countdowns, which always fire).
RATES = {"fail_next": "fail_rate", "hang_next": "hang_rate"}
CONTROLS = {"pass_s"}
FIELD_DEFAULTS = {
    "fail_next": 0,
    "fail_rate": 0.0,
    "error": None,
    "hang_next": 0,
    "hang_rate": 0.0,
    "hang_s": 10.0,
    "latency_ms": [0, 0],
}
WINDOW_S = 60.0


def default_faults() -> dict:
    return {remote: {**FIELD_DEFAULTS, **values} for remote, values in DEFAULT_FAULTS.items()}


def validated(remote: str, changes) -> dict:
    """The fault fields of one remote, checked; raises ValueError naming the bad one."""
    if not isinstance(changes, dict):
        raise ValueError(f"{remote} faults must be a JSON object")
    unknown = set(changes) - FAULT_FIELDS - CONTROLS
    if unknown:
        raise ValueError(f"unknown {remote} fault keys: {sorted(unknown)}")
    for key in ("per_min", "fail_next", "hang_next"):
        if key in changes and (not isinstance(changes[key], int) or changes[key] < -1):
            raise ValueError(f"{remote}.{key} must be an integer (-1 = always)")
    for key in RATES.values():
        if key in changes and not 0 <= float(changes[key]) <= 1:
            raise ValueError(f"{remote}.{key} must be between 0 and 1")
    if "pass_s" in changes and not 0 <= float(changes["pass_s"]) <= 86400:
        raise ValueError(f"{remote}.pass_s must be between 0 and 86400")
    if "hang_s" in changes and not 0 <= float(changes["hang_s"]) <= 600:
        raise ValueError(f"{remote}.hang_s must be between 0 and 600")
    if "latency_ms" in changes:
        low, high = changes["latency_ms"]
        if not 0 <= low <= high:
            raise ValueError(f"{remote}.latency_ms must be [min, max] with 0 <= min <= max")
    return changes


class MessagingState:
    """The received messages and the per-minute windows; faults stay in `SandboxState.faults`."""

    def __init__(self, state):
        self.state = state
        self.logs: dict[str, list] = {name: [] for name in LOGS}
        self.windows: dict[tuple[str, str], deque] = defaultdict(deque)
        self.lock = threading.Lock()

    def reset(self) -> None:
        with self.lock:
            self.logs = {name: [] for name in LOGS}
            self.windows.clear()

    def snapshot(self) -> dict:
        with self.lock:
            return {name: list(entries) for name, entries in self.logs.items()}

    def apply_controls(self, remote: str, changes: dict) -> dict:
        """Act on one-off controls (`pass_s`) and return the fault fields to keep."""
        passed = float(changes.pop("pass_s", 0))
        if passed:
            with self.lock:
                for (name, _), window in self.windows.items():
                    if name == remote:
                        for index in range(len(window)):
                            window[index] -= passed
        return changes

    def record(self, log: str, entry: dict) -> None:
        with self.lock:
            self.logs[log].append(entry)

    def faults(self, remote: str) -> dict:
        with self.state.lock:
            return dict(self.state.faults[remote])

    def take_fault(self, remote: str, counter: str) -> bool:
        """True when this request is one of the next N to fail/hang (N counts down; -1 = always),
        or, once N is spent, with the remote's `fail_rate`/`hang_rate`."""
        with self.state.lock:
            faults = self.state.faults[remote]
            if faults[counter] == 0:
                return random.random() < float(faults[RATES[counter]])  # noqa: S311 (test data)
            if faults[counter] > 0:
                faults[counter] -= 1
            return True

    def latency_and_hang(self, remote: str) -> None:
        faults = self.faults(remote)
        low, high = faults["latency_ms"]
        if high > 0:
            time.sleep(random.uniform(low, high) / 1000)  # noqa: S311 (test data)
        if self.take_fault(remote, "hang_next"):
            time.sleep(float(faults["hang_s"]))

    def within_limit(self, remote: str, bucket: str = "") -> bool:
        """Count one message against the remote's sliding-minute limit; False when over it."""
        limit = self.faults(remote)["per_min"]
        if limit <= 0:
            return True
        now = time.monotonic()
        with self.lock:
            window = self.windows[(remote, bucket)]
            while window and window[0] <= now - WINDOW_S:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True
