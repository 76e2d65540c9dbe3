"""The sandbox: a real, threaded HTTP server standing in for the remotes Yunqiao talks to.

Each remote is a sibling module that registers its routes on the shared `Router`: `yonyou` (the
ERP open API), `projects` (the remote project system), `wecom` (group robot and application
messages), `sms` (Aliyun SendSms); `smtp` runs a real SMTP server beside it.
The control API under `/__sandbox__/` lets tests read the state and inject faults.
"""

import contextlib
import json
import logging
import random
import re
import shutil
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sandbox import messaging

logger = logging.getLogger(__name__)

DEFAULT_FAULTS = {
    "latency_ms": [0, 0],
    "fail_rate": 0.0,
    "fail_status": 503,
    "retry_after_s": None,
    # A deterministic outage: the next `fail_next` gateway calls, and every gateway call during
    # the `fail_for_s` seconds after it is set, answer `fail_status`.
    "fail_next": 0,
    "fail_for_s": 0,
    "hang_rate": 0.0,
    "hang_s": 10.0,
    "reset_rate": 0.0,
    "token_ttl_s": 7200,
    "records_per_day": 40,
    "fail_dates": [],
    "fail_dates_status": 500,
    "mutate_rate": 0.0,
    "oversized_codes": [],
    "max_file_bytes": 200 * 1024 * 1024,
    "slow_read_ms": 0,
    **messaging.default_faults(),
}
FAULT_STATUSES = {500, 502, 503, 429, 401}
CHUNK = 64 * 1024


class BadFaults(ValueError):
    pass


class SandboxState:
    """What the fake remotes remember. Files and tokens persist under `root` like a real
    cloud's would; faults and request counters live only as long as the process."""

    def __init__(self, root: Path):
        self.root = root
        self.files_dir = root / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.faults = json.loads(json.dumps(DEFAULT_FAULTS))
        self.requests: Counter = Counter()
        self.in_flight: Counter = Counter()
        self.max_in_flight: Counter = Counter()
        # Pages of documents answered, per "doc_type YYYY-MM-DD": how often each day was fetched.
        self.pages_served: Counter = Counter()
        self.files: list[dict] = []
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.outage_until = 0.0  # time.time() until which `fail_for_s` holds
        self.messaging = messaging.MessagingState(self)
        self._load()

    # --- persistence ------------------------------------------------------------------------

    @property
    def _state_file(self) -> Path:
        """Tokens (few, rewritten whole when one is issued or expired)."""
        return self.root / "state.json"

    @property
    def _files_journal(self) -> Path:
        """Received files, one JSON line each, appended: an upload costs one line, not a rewrite
        of every file received before it."""
        return self.root / "files.jsonl"

    def _load(self) -> None:
        if self._state_file.exists():
            saved = json.loads(self._state_file.read_text())
            self.files = saved.get("files", [])  # a state file written before the journal
            self.tokens = saved.get("tokens", {})
            self.tokens_issued = saved.get("tokens_issued", 0)
        if self.files and not self._files_journal.exists():
            self._files_journal.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in self.files))
            self.files = []
        if self._files_journal.exists():
            with self._files_journal.open(encoding="utf-8") as journal:
                for line in journal:
                    if line.endswith("\n"):  # a line cut by a crash was never acknowledged
                        self.files.append(json.loads(line))

    def save(self) -> None:
        """Write the tokens; files are journalled by `add_files`."""
        with self.lock:
            tmp = self._state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"tokens": self.tokens, "tokens_issued": self.tokens_issued}, ensure_ascii=False))
            tmp.replace(self._state_file)

    def add_files(self, received: list[dict]) -> None:
        with self.lock:
            with self._files_journal.open("a", encoding="utf-8") as journal:
                journal.write("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in received))
            self.files.extend(received)

    def reset(self) -> None:
        with self.lock:
            self.faults = json.loads(json.dumps(DEFAULT_FAULTS))
            self.requests.clear()
            self.max_in_flight.clear()
            self.outage_until = 0.0
            self.pages_served.clear()
            self.files, self.tokens, self.tokens_issued = [], {}, 0
            self.messaging.reset()
            shutil.rmtree(self.files_dir, ignore_errors=True)
            self.files_dir.mkdir(parents=True, exist_ok=True)
            self._files_journal.unlink(missing_ok=True)
            self.save()

    # --- faults -------------------------------------------------------------------------------

    def set_faults(self, changes: dict) -> dict:
        unknown = set(changes) - set(DEFAULT_FAULTS) - {"expire_tokens_now"}
        if unknown:
            raise BadFaults(f"unknown fault keys: {sorted(unknown)}")
        if "fail_status" in changes and changes["fail_status"] not in FAULT_STATUSES:
            raise BadFaults(f"fail_status must be one of {sorted(FAULT_STATUSES)}")
        for key in ("fail_rate", "hang_rate", "reset_rate", "mutate_rate"):
            if key in changes and not 0 <= float(changes[key]) <= 1:
                raise BadFaults(f"{key} must be between 0 and 1")
        for key in ("fail_next", "fail_for_s"):
            if key in changes and not float(changes[key]) >= 0:
                raise BadFaults(f"{key} must be 0 or more")
        if "latency_ms" in changes:
            low, high = changes["latency_ms"]
            if not 0 <= low <= high:
                raise BadFaults("latency_ms must be [min, max] with 0 <= min <= max")
        remotes = {key: messaging.validated(key, changes.pop(key)) for key in messaging.REMOTES if key in changes}
        with self.lock:
            for key, value in remotes.items():
                self.faults[key] = {**self.faults[key], **self.messaging.apply_controls(key, value)}
            if changes.pop("expire_tokens_now", False):
                self.tokens = dict.fromkeys(self.tokens, 0.0)
                self.save()
            if "fail_for_s" in changes:
                self.outage_until = time.time() + float(changes["fail_for_s"])
            self.faults.update(changes)
            return dict(self.faults)

    def in_outage(self) -> bool:
        """Whether this gateway call falls in the outage (and is counted against `fail_next`)."""
        with self.lock:
            if self.faults["fail_next"] > 0:
                self.faults["fail_next"] -= 1
                return True
            return time.time() < self.outage_until

    def fault(self, name: str):
        with self.lock:
            return self.faults[name]

    # --- bookkeeping --------------------------------------------------------------------------

    def count(self, name: str) -> None:
        with self.lock:
            self.requests[name] += 1

    def enter(self, name: str) -> None:
        with self.lock:
            self.in_flight[name] += 1
            self.max_in_flight[name] = max(self.max_in_flight[name], self.in_flight[name])

    def leave(self, name: str) -> None:
        with self.lock:
            self.in_flight[name] -= 1

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "files": list(self.files),
                "max_concurrent_uploads": self.max_in_flight["upload"],
                "requests": dict(self.requests),
                "pages_served": dict(self.pages_served),
                "tokens_issued": self.tokens_issued,
                "faults": json.loads(json.dumps(self.faults)),
                **self.messaging.snapshot(),
            }


class TruncatedBody(Exception):
    """The client stopped sending before the body it announced was complete (a cut connection)."""


class Request:
    """What a route handler sees: the parsed URL and a body it may read once."""

    def __init__(self, handler: "SandboxHandler"):
        self.handler = handler
        self.method = handler.command
        parts = urlsplit(handler.path)
        self.path = parts.path
        self.query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        self.headers = handler.headers
        self._consumed = False

    def chunks(self) -> Iterator[bytes]:
        """The body, streamed: Content-Length or chunked transfer encoding. Raises TruncatedBody
        when the connection ends before the announced body did."""
        self._consumed = True
        rfile = self.handler.rfile
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = rfile.readline()
                if not line:
                    raise TruncatedBody("connection closed before the last chunk")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                remaining = size
                while remaining:
                    data = rfile.read(min(CHUNK, remaining))
                    if not data:
                        raise TruncatedBody("connection closed inside a chunk")
                    remaining -= len(data)
                    yield data
                rfile.readline()
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                data = rfile.read(min(CHUNK, remaining))
                if not data:
                    raise TruncatedBody(f"connection closed {remaining} bytes before the announced end")
                remaining -= len(data)
                yield data

    def json(self):
        raw = b"".join(self.chunks())
        return json.loads(raw or b"null")

    def drain(self) -> None:
        if not self._consumed:
            for _ in self.chunks():
                pass


class Response:
    def __init__(self, status: int = 200, body=None, *, headers: dict | None = None, raw: bytes | None = None):
        self.status = status
        self.headers = headers or {}
        if raw is not None:
            self.payload = raw
            self.headers.setdefault("Content-Type", "application/octet-stream")
        else:
            self.payload = json.dumps(body, ensure_ascii=False).encode()
            self.headers.setdefault("Content-Type", "application/json; charset=utf-8")


class ConnectionReset(Exception):
    """Raised by a handler to drop the connection without an answer."""


Handler = Callable[[Request, SandboxState], Response]


class Router:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern, Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + r"\Z"), handler))

    def find(self, method: str, path: str) -> tuple[Handler | None, dict, bool]:
        path_known = False
        for route_method, regex, handler in self.routes:
            match = regex.match(path)
            if match:
                path_known = True
                if route_method == method:
                    return handler, match.groupdict(), True
        return None, {}, path_known


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real gateway, so client pooling is exercised
    server: "SandboxServer"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self) -> None:
        request = Request(self)
        handler, params, path_known = self.server.router.find(request.method, request.path)
        try:
            if handler is None:
                response = Response(405 if path_known else 404, {"code": "310404", "message": "接口不存在"})
            else:
                request.params = params
                response = handler(request, self.server.state)
            request.drain()
        except ConnectionReset:
            self._reset()
            return
        except TruncatedBody as exc:
            # Nothing more will come on this connection; whatever answer we write is likely lost.
            logger.info("sandbox refused a truncated body: %s", exc)
            self.server.state.count("truncated_bodies")
            self.close_connection = True
            response = Response(400, {"code": "400", "message": f"请求体不完整：{exc}"})
        except (ValueError, KeyError, BadFaults) as exc:
            request.drain()
            response = Response(400, {"code": "400", "message": str(exc)})
        with contextlib.suppress(OSError):  # the client may be gone (a cut upload)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, str(value))
            self.send_header("Content-Length", str(len(response.payload)))
            self.end_headers()
            self.wfile.write(response.payload)

    def _reset(self) -> None:
        """Close with a TCP RST and no answer, as a crashing gateway would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the connection was reset on purpose
            super().finish()

    def log_message(self, format, *args):
        logger.info("sandbox %s", format % args)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: SandboxState, router: Router):
        self.state = state
        self.router = router
        super().__init__(address, SandboxHandler)


def apply_latency(state: SandboxState) -> None:
    low, high = state.fault("latency_ms")
    if high > 0:
        time.sleep(random.uniform(low, high) / 1000)  # noqa: S311 (test data, not crypto)


def apply_faults(request: Request, state: SandboxState) -> Response | None:
    """Latency, resets, hangs and failures, in that order, for a business call."""
    apply_latency(state)
    if random.random() < state.fault("reset_rate"):  # noqa: S311
        request.drain()
        raise ConnectionReset
    if random.random() < state.fault("hang_rate"):  # noqa: S311
        time.sleep(state.fault("hang_s"))  # the client has given up by now
    if state.in_outage() or random.random() < state.fault("fail_rate"):  # noqa: S311
        return failure_response(state)
    return None


def failure_response(state: SandboxState) -> Response:
    status = state.fault("fail_status")
    headers = {}
    if state.fault("retry_after_s") is not None and status in (429, 503):
        headers["Retry-After"] = state.fault("retry_after_s")
    body = {
        429: {"code": "310046", "message": "调用频率超限"},
        401: {"code": "401", "message": "未授权：应用凭证无效"},
    }.get(status, {"code": "999", "message": "服务器内部错误"})
    return Response(status, body, headers=headers)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def control_routes(router: Router) -> None:
    def state_view(request: Request, state: SandboxState) -> Response:
        return Response(200, state.snapshot())

    def faults_view(request: Request, state: SandboxState) -> Response:
        changes = request.json() or {}
        if not isinstance(changes, dict):
            raise ValueError("faults must be a JSON object")
        return Response(200, state.set_faults(changes))

    def reset_view(request: Request, state: SandboxState) -> Response:
        state.reset()
        return Response(200, {"reset": True})

    def file_view(request: Request, state: SandboxState) -> Response:
        file_id = request.params["file_id"]
        path = state.files_dir / file_id
        if not re.fullmatch(r"[0-9a-f]{24}", file_id) or not path.exists():
            return Response(404, {"code": "404", "message": "no such file"})
        return Response(200, raw=path.read_bytes())

    router.add("GET", r"/__sandbox__/state", state_view)
    router.add("POST", r"/__sandbox__/faults", faults_view)
    router.add("POST", r"/__sandbox__/reset", reset_view)
    router.add("GET", r"/__sandbox__/files/(?P<file_id>[^/]+)", file_view)


def build_server(
    host: str, port: int, data_dir: Path, *, app_key: str, app_secret: str, messaging_credentials: dict | None = None
) -> SandboxServer:
    from sandbox.sms import AliyunSms
    from sandbox.wecom import WeCom
    from sandbox.yonyou import YonyouApi

    router = Router()
    control_routes(router)
    YonyouApi(app_key=app_key, app_secret=app_secret).register(router)
    credentials = messaging_credentials or {}
    WeCom(corp_id=credentials.get("corp_id", ""), corp_secret=credentials.get("corp_secret", "")).register(router)
    AliyunSms(
        access_key_id=credentials.get("access_key_id", ""), access_key_secret=credentials.get("access_key_secret", "")
    ).register(router)
    from sandbox.projects import ProjectsApi

    ProjectsApi.from_settings().register(router)
    return SandboxServer((host, port), SandboxState(data_dir), router)
