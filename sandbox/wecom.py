"""WeCom as the sandbox serves it: the group robot webhook and application messages.

Robot: `POST /cgi-bin/webhook/send?key=KEY`, 20 messages per sliding minute per key (45009
past it), 93000 for a key that is not one (the sandbox's rule: a key containing "invalid", or
not 8–64 letters, digits, `-`, `_`), markdown ≤ 4096 bytes / text ≤ 2048 bytes (45002).
App: `GET /cgi-bin/gettoken?corpid&corpsecret` (40001 for a wrong secret), then
`POST /cgi-bin/message/send?access_token=` (40014 for a token it never issued; a user id
containing "unknown" comes back in `invaliduser`, as WeCom does; a same-content message to the
same user within `duplicate_check_interval` is dropped when `enable_duplicate_check` is set).
"""

import re
import secrets
import select
import socket
import time
import uuid

from sandbox.server import Request, Response, Router, SandboxState, now_iso

ROBOT_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
SIZE_LIMITS = {"markdown": 4096, "text": 2048}
TOKEN_TTL_S = 7200


def client_gone(request: Request) -> bool:
    """True when the caller closed its connection (e.g. its process was killed during a hang):
    the sandbox then drops the message, as a gateway whose client went away would, and counts
    it in `requests` as `<remote>_dropped`."""
    sock = request.handler.connection
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def wecom_error(errcode: int, errmsg: str) -> Response:
    return Response(200, {"errcode": errcode, "errmsg": errmsg})


class WeCom:
    def __init__(self, *, corp_id: str, corp_secret: str):
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        self.tokens: dict[str, float] = {}
        self.recent: dict[tuple[str, str], float] = {}  # (user, content) → time, for the duplicate check

    def register(self, router: Router) -> None:
        router.add("POST", r"/cgi-bin/webhook/send", self.robot_send)
        router.add("GET", r"/cgi-bin/gettoken", self.gettoken)
        router.add("POST", r"/cgi-bin/message/send", self.app_send)

    # --- group robot ----------------------------------------------------------------------------

    def robot_send(self, request: Request, state: SandboxState) -> Response:  # noqa: PLR0911 (checks in order)
        state.count("wecom_robot")
        messaging = state.messaging
        body = request.json() or {}
        messaging.latency_and_hang("wecom_robot")
        if client_gone(request):
            state.count("wecom_robot_dropped")
            return wecom_error(-1, "client gone")
        key = request.query.get("key", "")
        if not ROBOT_KEY.fullmatch(key) or "invalid" in key:
            return wecom_error(93000, "invalid webhook url")
        if messaging.take_fault("wecom_robot", "fail_next"):
            errcode = messaging.faults("wecom_robot")["error"] or -1
            return wecom_error(int(errcode), "injected fault")
        msgtype = body.get("msgtype")
        if msgtype not in SIZE_LIMITS:
            return wecom_error(40008, "invalid message type")
        content = (body.get(msgtype) or {}).get("content", "")
        if not content:
            return wecom_error(44004, "empty content")
        if len(content.encode()) > SIZE_LIMITS[msgtype]:
            return wecom_error(45002, "content size out of limit")
        if not messaging.within_limit("wecom_robot", key):
            return wecom_error(45009, "api freq out of limit")
        messaging.record(
            "wecom_messages",
            {"received_at": now_iso(), "kind": "robot", "key": key, "msgtype": msgtype, "content": content},
        )
        return wecom_error(0, "ok")

    # --- application messages ---------------------------------------------------------------

    def gettoken(self, request: Request, state: SandboxState) -> Response:
        state.count("wecom_token")
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.corp_secret:
            return wecom_error(40001, "invalid secret")
        token = secrets.token_hex(16)
        with state.lock:
            self.tokens[token] = time.time() + TOKEN_TTL_S
        return Response(200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_TTL_S})

    def app_send(self, request: Request, state: SandboxState) -> Response:  # noqa: PLR0911 (checks in order)
        state.count("wecom_app")
        messaging = state.messaging
        body = request.json() or {}
        messaging.latency_and_hang("wecom_app")
        if client_gone(request):
            state.count("wecom_app_dropped")
            return wecom_error(-1, "client gone")
        with state.lock:
            expires = self.tokens.get(request.query.get("access_token", ""), 0)
        if expires < time.time():
            return wecom_error(40014, "invalid access_token")
        if messaging.take_fault("wecom_app", "fail_next"):
            return wecom_error(int(messaging.faults("wecom_app")["error"] or -1), "injected fault")
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "textcard") or not body.get("touser"):
            return wecom_error(40008, "invalid message type")
        if not messaging.within_limit("wecom_app"):
            return wecom_error(45009, "api freq out of limit")
        user = body["touser"]
        msgid = uuid.uuid4().hex
        if "unknown" in user:
            return Response(200, {"errcode": 0, "errmsg": "ok", "invaliduser": user, "msgid": msgid})
        content = body.get(msgtype) or {}
        if self._duplicate(body, user, repr(sorted(content.items())), state):
            return Response(200, {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid})
        messaging.record(
            "wecom_messages",
            {"received_at": now_iso(), "kind": "app", "touser": user, "msgtype": msgtype, "content": content},
        )
        return Response(200, {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid})

    def _duplicate(self, body: dict, user: str, content: str, state: SandboxState) -> bool:
        if not body.get("enable_duplicate_check"):
            return False
        interval = float(body.get("duplicate_check_interval") or 1800)
        now = time.time()
        with state.lock:
            seen = self.recent.get((user, content))
            self.recent[(user, content)] = now
        return seen is not None and now - seen < interval
