"""The Yonyou open API as the sandbox serves it (see ../shared/yonyou-api.md).

Served under one origin: `/iuap-api-auth/...` (tokens) and `/iuap-api-gateway/...` (business).
Codes the docs do not give are assumed and marked so.
"""

import base64
import hashlib
import re
import secrets
import time
import uuid
from datetime import date, datetime

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from sandbox import documents
from sandbox.server import (
    Request,
    Response,
    Router,
    SandboxState,
    TruncatedBody,
    apply_faults,
    apply_latency,
    now_iso,
)
from yonyou.client import ATTACHMENTS_PATH, DOCUMENT_TYPES, TOKEN_PATH, UPLOAD_PATH
from yonyou.signing import signature_is_valid

AUTH = "/iuap-api-auth"
GATEWAY = "/iuap-api-gateway"
LEGACY_TOKEN_PATH = "/open-auth/selfAppAuth/getAccessToken"
TIMESTAMP_TOLERANCE_MS = 5 * 60 * 1000  # assumed: Yonyou refuses stale signed requests
MAX_PAGE_SIZE = 500  # assumed cap of the list APIs

OK = {"code": "200", "message": "操作成功"}
NOT_FOUND = {"code": "310404", "message": "接口不存在"}


class YonyouApi:
    """The routes of one tenant whose self-built app has `app_key` / `app_secret`."""

    def __init__(self, *, app_key: str, app_secret: str):
        self.app_key = app_key
        self.app_secret = app_secret

    def register(self, router: Router) -> None:
        router.add("GET", re.escape(AUTH + TOKEN_PATH), self.token)
        router.add("GET", re.escape(AUTH + LEGACY_TOKEN_PATH), self.token)
        router.add("POST", re.escape(GATEWAY + UPLOAD_PATH), business_call("upload", self.upload))
        router.add("POST", re.escape(GATEWAY + ATTACHMENTS_PATH), business_call("list_attachments", self.attachments))
        for doc_type, path in DOCUMENT_TYPES.items():
            router.add(
                "POST", re.escape(GATEWAY + path), business_call(f"list_{doc_type}", self.document_list(doc_type))
            )
        # Control API: what the list APIs serve for one type and day, read without the gateway
        # (no token, no faults), so tests compare our tables with the remote's own truth.
        router.add("GET", r"/__sandbox__/documents", self.served_documents)
        # Anything else under the gateway: HTTP 404 with 310404, like the real one.
        for method in ("GET", "POST"):
            router.add(method, re.escape(GATEWAY) + r"/.*", lambda request, state: Response(404, NOT_FOUND))

    def token(self, request: Request, state: SandboxState) -> Response:
        state.count("token")
        apply_latency(state)
        query = request.query
        if query.get("appKey") != self.app_key:
            return Response(200, {"code": "10018", "message": "appKey 不存在"})
        signed = {"appKey": query.get("appKey", ""), "timestamp": query.get("timestamp", "")}
        if not signature_is_valid(self.app_secret, signed, query.get("signature", "")):
            return Response(200, {"code": "10020", "message": "签名错误"})  # code assumed
        try:
            stale = abs(time.time() * 1000 - int(signed["timestamp"])) > TIMESTAMP_TOLERANCE_MS
        except ValueError:
            stale = True
        if stale:
            return Response(200, {"code": "10021", "message": "时间戳已过期"})  # code assumed
        ttl = int(state.fault("token_ttl_s"))
        # Real tokens are long and contain characters that need URL-encoding.
        access_token = base64.b64encode(secrets.token_bytes(48)).decode()
        with state.lock:
            state.tokens[access_token] = time.time() + ttl
            state.tokens_issued += 1
            state.save()
        return Response(
            200, {"code": "00000", "message": "成功！", "data": {"access_token": access_token, "expire": ttl}}
        )

    def upload(self, request: Request, state: SandboxState) -> Response:
        business_type = request.query.get("businessType", "")
        business_id = request.query.get("businessId", "")
        if not business_type or not business_id:
            return invalid("businessType 和 businessId 不能为空")
        match = re.search(r"boundary=\"?([^\";]+)\"?", request.headers.get("Content-Type", ""))
        if not match:
            return invalid("需要 multipart/form-data")
        stored = _store_files(request, state, match.group(1).encode(), business_type, business_id)
        if isinstance(stored, Response):
            return stored
        if not stored:
            return invalid("缺少文件（字段名 files）")
        state.add_files(stored)
        data = [
            {
                "id": f["id"],
                "fileName": f["file_name"],
                "fileSize": f["size"],
                "fileExtension": _extension(f["file_name"]),
            }
            for f in stored
        ]
        return Response(200, {**OK, "data": {"data": data}})

    def attachments(self, request: Request, state: SandboxState) -> Response:
        wanted = request.json()
        if not isinstance(wanted, list):
            return invalid("请求体应为数组")
        keys = {(str(item.get("businessType")), str(item.get("businessid"))) for item in wanted}
        with state.lock:
            found = [f for f in state.files if (f["business_type"], f["business_id"]) in keys]
        data = [
            {
                "id": f["id"],
                "fileName": f["file_name"],
                "fileSize": f["size"],
                "businessType": f["business_type"],
                "businessId": f["business_id"],
                "downloadUrl": f"/__sandbox__/files/{f['id']}",
            }
            for f in found
        ]
        return Response(200, {**OK, "data": data})

    def served_documents(self, request: Request, state: SandboxState) -> Response:
        doc_type = request.query.get("doc_type", "")
        if doc_type not in DOCUMENT_TYPES:
            raise ValueError(f"doc_type must be one of {sorted(DOCUMENT_TYPES)}")
        day = date.fromisoformat(request.query.get("date", ""))
        per_day = int(state.fault("records_per_day"))
        served = documents.page(
            doc_type,
            day,
            page_index=1,
            page_size=max(1, per_day),
            per_day=per_day,
            mutate_rate=float(state.fault("mutate_rate")),
            oversized_codes=frozenset(state.fault("oversized_codes")),
        )
        return Response(200, {"count": served["recordCount"], "records": served["recordList"]})

    def document_list(self, doc_type: str):
        def handle(request: Request, state: SandboxState) -> Response:
            body = request.json() or {}
            day = _business_day(body)
            if day is None:
                return invalid("simpleVOs 需要 vouchdate between 条件")
            if day.isoformat() in state.fault("fail_dates"):
                return Response(
                    int(state.fault("fail_dates_status")), {"code": "999", "message": f"{day} 数据查询失败"}
                )
            page_size = max(1, min(MAX_PAGE_SIZE, int(body.get("pageSize") or 20)))
            page_index = max(1, int(body.get("pageIndex") or 1))
            data = documents.page(
                doc_type,
                day,
                page_index=page_index,
                page_size=page_size,
                per_day=int(state.fault("records_per_day")),
                mutate_rate=float(state.fault("mutate_rate")),
                oversized_codes=frozenset(state.fault("oversized_codes")),
            )
            with state.lock:
                state.pages_served[f"{doc_type} {day}"] += 1
            return Response(200, {**OK, "data": data})

        return handle


def business_call(name: str, handle):
    """Count the call, apply the faults, check the token, then let `handle` answer."""

    def view(request: Request, state: SandboxState) -> Response:
        state.count(name)
        state.enter(name)
        try:
            failure = apply_faults(request, state)
            if failure is not None:
                return failure
            presented = request.query.get("access_token")
            if not presented:
                return Response(200, {"code": "310001", "message": "access_token 不能为空"})
            with state.lock:
                expires_at = state.tokens.get(presented, 0.0)
            if expires_at <= time.time():
                return Response(200, {"code": "310036", "message": "非法token"})
            return handle(request, state)
        finally:
            state.leave(name)

    return view


def invalid(message: str) -> Response:
    return Response(200, {"code": "1090003500400", "message": message})  # validation code assumed


def _business_day(body: dict) -> date | None:
    for condition in body.get("simpleVOs") or []:
        if condition.get("field") == "vouchdate" and condition.get("op") == "between":
            try:
                return datetime.strptime(str(condition.get("value1"))[:10], "%Y-%m-%d").date()
            except ValueError:
                return None
    return None


def _extension(file_name: str) -> str:
    return "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""


class _UploadParts:
    """Streams every part named `files` of a multipart body to disk, hashing as it goes, through
    python-multipart (a maintained parser). Nothing is held whole; parts are complete only once
    the closing boundary was seen."""

    def __init__(self, state: SandboxState, business_type: str, business_id: str):
        self.state = state
        self.business_type = business_type
        self.business_id = business_id
        self.stored: list[dict] = []
        self.sink: dict | None = None
        self.headers: dict[str, str] = {}
        self.header_field = b""
        self.header_value = b""
        self.finished = False

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self.headers, self.sink = {}, None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def _header_end(self) -> None:
        self.headers[self.header_field.decode("latin-1").lower()] = self.header_value.decode("latin-1")
        self.header_field = self.header_value = b""

    def _headers_finished(self) -> None:
        _disposition, params = parse_options_header(self.headers.get("content-disposition"))
        if params.get(b"name") != b"files":
            return
        raw_name = params.get(b"filename", b"upload.bin")
        file_id = uuid.uuid4().hex[:24]
        self.sink = {
            "id": file_id,
            "file_name": raw_name.decode("utf-8", "replace"),
            "handle": open(self.state.files_dir / file_id, "wb"),  # noqa: SIM115 (closed at part end)
            "sha": hashlib.sha256(),
            "size": 0,
        }

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.sink is not None:
            piece = data[start:end]
            self.sink["handle"].write(piece)
            self.sink["sha"].update(piece)
            self.sink["size"] += len(piece)

    def _part_end(self) -> None:
        sink, self.sink = self.sink, None
        if sink is None:
            return
        sink["handle"].close()
        self.stored.append(
            {
                "id": sink["id"],
                "business_type": self.business_type,
                "business_id": self.business_id,
                "file_name": sink["file_name"],
                "size": sink["size"],
                "sha256": sink["sha"].hexdigest(),
                "received_at": now_iso(),
            }
        )

    def _end(self) -> None:
        self.finished = True

    def discard(self) -> None:
        """Remove every file written for this body, complete or not."""
        if self.sink is not None:
            self.sink["handle"].close()
            self.stored.append(self.sink)
            self.sink = None
        for part in self.stored:
            (self.state.files_dir / part["id"]).unlink(missing_ok=True)
        self.stored = []


def _store_files(request: Request, state: SandboxState, boundary: bytes, business_type: str, business_id: str):
    """The files of an upload body, stored; a Response when the body is refused (too large, not
    well-formed, or cut short: the real gateway stores nothing of a truncated body)."""
    parts = _UploadParts(state, business_type, business_id)
    parser = MultipartParser(boundary, parts.callbacks())
    pause_s = float(state.fault("slow_read_ms")) / 1000
    try:
        for chunk in request.chunks():
            if pause_s:
                time.sleep(pause_s)  # a gateway reading slowly: the client's writes block
            parser.write(chunk)
        parser.finalize()
    except TruncatedBody:
        parts.discard()
        raise
    except MultipartParseError as exc:
        parts.discard()
        return invalid(f"multipart 请求体格式错误：{exc}")
    except BaseException:
        parts.discard()
        raise
    if not parts.finished:
        parts.discard()
        return invalid("multipart 请求体不完整（缺少结束边界）")
    limit = int(state.fault("max_file_bytes"))
    if any(part["size"] > limit for part in parts.stored):
        parts.discard()
        return Response(200, {"code": "310025", "message": "文件大小超出限制"})
    return parts.stored
