"""The Yonyou open-API client: one pooled httpx client per process, a shared access token, typed
errors. Protocol facts are in ../shared/yonyou-api.md; details we had to assume say so.

Callers use `get_client()` and the three operations; they never see HTTP. Every failure is a
`RetryableError` or a `PermanentError` (yonyou.errors) with a stable `code`.
"""

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

import httpx
from django.conf import settings
from django.core.cache import cache

from config.logging import request_id_var, task_id_var
from yonyou import errors
from yonyou.errors import PermanentError, RetryableError
from yonyou.signing import sign

logger = logging.getLogger(__name__)

TOKEN_CACHE_KEY = "yonyou:access_token"
TOKEN_PATH = "/open-auth/selfAppAuth/base/v1/getAccessToken"
UPLOAD_PATH = "/yonbip/uspace/iuap-apcom-file/rest/v1/file"
ATTACHMENTS_PATH = "/yonbip/scm/api/getDownLoadUrl"

# Document type → list API path. Only the sales-order path is documented; the others are
# assumed, modelled on it (same paging body and answer shape).
DOCUMENT_TYPES: dict[str, str] = {
    "sales_order": "/yonbip/sd/voucherorder/list",
    "purchase_order": "/yonbip/scm/purchaseorder/list",  # assumed
    "purchase_arrival": "/yonbip/scm/arrivalorder/list",  # assumed
    "receivable": "/yonbip/fi/oar/list",  # assumed
    "material_stock": "/yonbip/scm/stock/list",  # assumed
    "production_order": "/yonbip/mfc/productionorder/list",  # assumed
    "production_material": "/yonbip/mfc/productionorder/materiallist",  # assumed
    "outsourcing_order": "/yonbip/mfc/osmorder/list",  # assumed
    "work_report": "/yonbip/mfc/workreport/list",  # assumed
    "engineering_change": "/yonbip/plm/ecn/list",  # assumed
    "equipment_maintenance": "/yonbip/eam/maintainplan/list",  # assumed
    "quotation": "/yonbip/sd/quotation/list",  # assumed
    "opportunity": "/yonbip/crm/opportunity/list",  # assumed
}

SUCCESS = "200"
TOKEN_SUCCESS = "00000"
TOKEN_REJECTED_CODES = {"310036", "310001"}  # 非法token / token missing: refresh once and retry
RATE_LIMIT_CODES = {"310032", "310039", "310042", "310046"}
RETRYABLE_CODES = RATE_LIMIT_CODES | {"310504"}  # 310504: gateway timeout


@dataclass(frozen=True)
class UploadedFile:
    file_id: str
    file_name: str
    size: int | None


@dataclass(frozen=True)
class Attachment:
    file_id: str
    file_name: str
    size: int | None
    download_url: str | None


@dataclass(frozen=True)
class DocumentPage:
    page_index: int
    page_size: int
    page_count: int
    record_count: int
    records: list[dict]


def business_type_for(doc_type: str) -> str:
    """The Yonyou businessType of a document type as field staff name it (销售/转库/其他)."""
    try:
        return settings.YONYOU_BUSINESS_TYPES[doc_type]
    except KeyError:
        raise PermanentError("unknown_doc_type", f"no businessType configured for document type {doc_type!r}") from None


class YonyouClient:
    def __init__(self) -> None:
        self._http: httpx.Client | None = None
        self._pid = 0
        self._token_lock = threading.Lock()
        self._http_lock = threading.Lock()

    # --- operations ---------------------------------------------------------------------------

    def upload_attachment(
        self,
        *,
        business_type: str,
        business_id: str,
        file_name: str,
        fileobj: BinaryIO,
        deadline: float | None = None,
    ) -> UploadedFile:
        """Upload one file to a business document's attachments; the bytes are streamed.

        `deadline` (a `time.monotonic()` value) bounds the whole call, sending and waiting included:
        past it the call ends with a retryable `timeout`, however slowly the remote reads or answers."""
        start = fileobj.tell()

        def send(token: str) -> httpx.Response:
            fileobj.seek(start)  # a retry after a token refresh sends the file again
            return self._send(
                "POST",
                settings.YONYOU_GATEWAY_URL + UPLOAD_PATH,
                deadline=deadline,
                params={"access_token": token, "businessType": business_type, "businessId": business_id},
                files={"files": (file_name, fileobj, "application/octet-stream")},
            )

        data = self._business_call("upload", send)
        items = data.get("data") if isinstance(data, dict) else None
        item = items[0] if isinstance(items, list) and items else None
        if not _is_file_item(item):
            raise RetryableError(errors.BAD_RESPONSE, "upload answer carries no file id")
        return UploadedFile(
            file_id=str(item["id"]), file_name=item.get("fileName", file_name), size=item.get("fileSize")
        )

    def list_attachments(self, *, business_type: str, business_id: str, bill_code: str = "") -> list[Attachment]:
        """The attachments already on a business document (to avoid uploading a copy twice)."""
        body = [{"billCode": bill_code, "businessType": business_type, "businessid": business_id}]

        def send(token: str) -> httpx.Response:
            return self._send(
                "POST", settings.YONYOU_GATEWAY_URL + ATTACHMENTS_PATH, params={"access_token": token}, json=body
            )

        data = self._business_call("list_attachments", send)
        if data is None:
            data = []
        # Assumed answer shape: a list of {"id", "fileName", "fileSize", "downloadUrl"}. Anything
        # else is a typed error: a caller deciding "not there yet" from a misread answer would
        # upload a duplicate, and an untyped crash would fail the upload for good.
        if not isinstance(data, list) or not all(_is_file_item(item) for item in data):
            raise RetryableError(errors.BAD_RESPONSE, "attachment list answer is not a list of files")
        return [
            Attachment(
                file_id=str(item.get("id")),
                file_name=item.get("fileName", ""),
                size=item.get("fileSize"),
                download_url=item.get("downloadUrl"),
            )
            for item in data
        ]

    def list_documents(
        self, *, doc_type: str, business_date: date, page_index: int = 1, page_size: int = 500
    ) -> DocumentPage:
        """One page of the ERP documents of one type whose business date is `business_date`."""
        try:
            path = DOCUMENT_TYPES[doc_type]
        except KeyError:
            raise PermanentError("unknown_doc_type", f"unknown document type {doc_type!r}") from None
        day = business_date.isoformat()
        body = {
            "pageIndex": page_index,
            "pageSize": page_size,
            "simpleVOs": [
                {"field": "vouchdate", "op": "between", "value1": f"{day} 00:00:00", "value2": f"{day} 23:59:59"}
            ],
        }

        def send(token: str) -> httpx.Response:
            return self._send("POST", settings.YONYOU_GATEWAY_URL + path, params={"access_token": token}, json=body)

        data = self._business_call("list_documents", send)
        try:
            records = data.get("recordList") or []
            if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
                raise TypeError("recordList is not a list of records")
            return DocumentPage(
                page_index=int(data["pageIndex"]),
                page_size=int(data["pageSize"]),
                page_count=int(data["pageCount"]),
                record_count=int(data["recordCount"]),
                records=records,
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise RetryableError(errors.BAD_RESPONSE, "document list answer is not a page") from None

    # --- access token -------------------------------------------------------------------------

    def access_token(self) -> str:
        """The tenant's token, shared by every process through Django's cache."""
        with _token_cache_errors():
            cached = cache.get(TOKEN_CACHE_KEY)
            if cached:
                return cached
            with self._token_lock:  # one refresh at a time in this process
                return cache.get(TOKEN_CACHE_KEY) or self._fetch_token()

    def _refresh_token(self, rejected: str) -> str:
        """Replace a token Yonyou rejected, unless another thread already did."""
        with _token_cache_errors(), self._token_lock:
            current = cache.get(TOKEN_CACHE_KEY)
            if current and current != rejected:
                return current
            cache.delete(TOKEN_CACHE_KEY)
            return self._fetch_token()

    def _fetch_token(self) -> str:
        params = {"appKey": settings.YONYOU_APP_KEY, "timestamp": str(int(time.time() * 1000))}
        params["signature"] = sign(settings.YONYOU_APP_SECRET, params)
        try:
            response = self._send("GET", settings.YONYOU_TOKEN_URL + TOKEN_PATH, params=params, operation="token")
            self._raise_for_http(response)
            payload = self._json(response)
        except RetryableError as exc:
            raise RetryableError(
                errors.TOKEN_REFRESH_FAILED,
                f"could not obtain an access token: {exc.message}",
                retry_after=exc.retry_after,
            ) from exc
        code = str(payload.get("code"))
        if code != TOKEN_SUCCESS:
            raise PermanentError(
                errors.AUTH_REJECTED, f"Yonyou refused the app credentials ({code}): {payload.get('message', '')}"
            )
        data = payload.get("data") or {}
        try:
            token, expire_s = data.get("access_token"), int(data.get("expire") or 0)
        except (AttributeError, TypeError, ValueError):
            token, expire_s = None, 0
        if not token or not isinstance(token, str) or expire_s <= 0:
            raise RetryableError(errors.TOKEN_REFRESH_FAILED, "token answer carries no token")
        # Cached until shortly before Yonyou expires it, so no caller ever uses a dying token.
        ttl = max(1, expire_s - settings.YONYOU_TOKEN_REFRESH_MARGIN_S)
        cache.set(TOKEN_CACHE_KEY, token, timeout=ttl)
        return token

    # --- HTTP ---------------------------------------------------------------------------------

    def _business_call(self, operation: str, send) -> Any:
        """Send with the current token; on "token invalid" refresh once and send again."""
        token = self.access_token()
        payload = self._checked(send(token))
        if str(payload.get("code")) in TOKEN_REJECTED_CODES:
            token = self._refresh_token(rejected=token)
            payload = self._checked(send(token))
            if str(payload.get("code")) in TOKEN_REJECTED_CODES:
                raise RetryableError(errors.TOKEN_REFRESH_FAILED, "Yonyou rejected a freshly issued token")
        return self._data(payload)

    def _checked(self, response: httpx.Response) -> dict:
        self._raise_for_http(response)
        return self._json(response)

    @staticmethod
    def _data(payload: dict) -> Any:
        code = str(payload.get("code"))
        if code == SUCCESS:
            return payload.get("data")
        message = payload.get("message") or "no message"
        if code in RETRYABLE_CODES:
            raise RetryableError(
                errors.RATE_LIMITED if code in RATE_LIMIT_CODES else f"yonyou_{code}", f"Yonyou {code}: {message}"
            )
        # Unknown codes are permanent: retrying a validation error only repeats it.
        raise PermanentError(f"yonyou_{code}", f"Yonyou {code}: {message}")

    @staticmethod
    def _raise_for_http(response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 429:
            raise RetryableError(
                errors.RATE_LIMITED, "Yonyou rate limit (HTTP 429)", http_status=429, retry_after=_retry_after(response)
            )
        if status >= 500:
            raise RetryableError(
                f"http_{status}",
                f"Yonyou answered HTTP {status}",
                http_status=status,
                retry_after=_retry_after(response),
            )
        detail = ""
        try:
            body = response.json()
            detail = f" ({body.get('code')}: {body.get('message')})"
        except (ValueError, AttributeError):  # not JSON, or JSON that is not an object (a proxy's)
            pass
        raise PermanentError(f"http_{status}", f"Yonyou answered HTTP {status}{detail}", http_status=status)

    @staticmethod
    def _json(response: httpx.Response) -> dict:
        try:
            payload = response.json()
        except ValueError:
            # A proxy's error page in a 200: treat as transient rather than as a verdict.
            raise RetryableError(errors.BAD_RESPONSE, "Yonyou answered with something that is not JSON") from None
        if not isinstance(payload, dict):
            raise RetryableError(errors.BAD_RESPONSE, "Yonyou answered with JSON that is not an object")
        return payload

    def _send(
        self, method: str, url: str, *, operation: str = "", deadline: float | None = None, **kwargs
    ) -> httpx.Response:
        path = httpx.URL(url).path  # logged without the query: it carries the token
        headers = {"X-Request-ID": request_id_var.get() or task_id_var.get() or ""}
        started = time.monotonic()
        status: int | str = "error"
        try:
            client = self._client()
            request = client.build_request(method, url, headers=headers, timeout=_timeout(), **kwargs)
            if deadline is not None:
                _bound_by_deadline(request, deadline)
            response = client.send(request)
            status = response.status_code
            return response
        except httpx.TimeoutException:
            status = "timeout"
            raise RetryableError(errors.TIMEOUT, f"Yonyou did not answer {path} in time") from None
        except httpx.TransportError as exc:
            raise RetryableError(errors.CONNECTION, f"connection to Yonyou failed ({type(exc).__name__})") from None
        finally:
            logger.info(
                "yonyou call",
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )

    def warm(self) -> None:
        """Build this process's connection pool now (httpx loads its TLS context, about 0.1 s), so
        a worker's first upload after it starts does not wait for it."""
        self._client()

    def _client(self) -> httpx.Client:
        # A forked django-q2 worker must not share the parent's sockets: one pool per process.
        if self._http is None or self._pid != os.getpid():
            with self._http_lock:
                if self._http is None or self._pid != os.getpid():
                    self._http = httpx.Client(limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))
                    self._pid = os.getpid()
        return self._http


@contextlib.contextmanager
def _token_cache_errors():
    """The shared token cache (Redis or a database table) failing is a token failure: transient,
    so typed retryable here rather than escaping as an untyped error that callers give up on."""
    try:
        yield
    except errors.YonyouError:
        raise
    except Exception as exc:
        raise RetryableError(
            errors.TOKEN_REFRESH_FAILED, f"the shared token cache failed ({type(exc).__name__})"
        ) from None


def _is_file_item(item: Any) -> bool:
    """A file as Yonyou describes one: an object with a non-empty id."""
    return isinstance(item, dict) and item.get("id") not in (None, "")


def _timeout() -> httpx.Timeout:
    read = settings.YONYOU_TIMEOUT_S
    return httpx.Timeout(read, connect=min(settings.YONYOU_CONNECT_TIMEOUT_S, read), write=read, pool=read)


class _DeadlineBody(httpx.SyncByteStream):
    """A request body that keeps the request's timeouts within what is left before `deadline`.

    httpx timeouts bound each network operation, not the call: an upload trickling out, or a
    remote slow to answer, could run far past any lease. The body stops at the first chunk past
    the deadline, and httpcore reads the request's timeout mapping again before it waits for the
    answer, so that wait gets only what is left. A single stuck write can still take one write
    timeout (YONYOU_TIMEOUT_S) past the deadline; settings keep deadline + that below the lease."""

    def __init__(self, stream, timeouts: dict, deadline: float):
        self.stream = stream
        self.timeouts = timeouts
        self.limits = dict(timeouts)
        self.deadline = deadline

    def _shrink(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise httpx.WriteTimeout("the call's deadline passed while its body was sent")
        for name, limit in self.limits.items():
            self.timeouts[name] = remaining if limit is None else min(limit, remaining)

    def __iter__(self):
        for chunk in self.stream:
            self._shrink()
            yield chunk
        self._shrink()  # the wait for the answer gets only what is left

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close is not None:
            close()


def _bound_by_deadline(request: httpx.Request, deadline: float) -> None:
    timeouts = request.extensions["timeout"]
    body = _DeadlineBody(request.stream, timeouts, deadline)
    body._shrink()
    request.stream = body


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP date: rare from Yonyou; callers fall back to their own backoff


_client_lock = threading.Lock()
_shared_client: YonyouClient | None = None


def get_client() -> YonyouClient:
    """The process's client (connections are pooled; settings are read at each call)."""
    global _shared_client  # noqa: PLW0603 (one pooled client per process is the point)
    if _shared_client is None:
        with _client_lock:
            if _shared_client is None:
                _shared_client = YonyouClient()
    return _shared_client
