"""The uploads API: thin views over `services`, `selectors` and `export`, in the seed's shapes;
what each answer looks like is documented in `api_schema`."""

import hashlib
import logging
import math
import re

from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import positive_int_param
from config.permissions import IsStaffMember
from config.schema import ErrorSerializer
from config.throttling import UPLOAD_THROTTLES
from uploads import access, export, files, links, selectors, services
from uploads.api_schema import (
    UPLOAD_FORM,
    UploadAcceptedSerializer,
    UploadHistorySerializer,
    UploadLinkCreatedSerializer,
    UploadRecordPageSerializer,
    UploadsRetriedSerializer,
    UploadStatisticsSerializer,
)
from uploads.filters import UploadRecordFilter
from uploads.models import DocType, UploadRecord, UploadStatus

logger = logging.getLogger(__name__)

# Multipart overhead allowance on top of the files themselves.
FORM_OVERHEAD = 1024 * 1024


def request_too_large(request) -> bool:
    """Refuse an oversize body from its Content-Length, before reading it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.MAX_FILE_SIZE * settings.MAX_FILES_PER_UPLOAD + FORM_OVERHEAD


def too_large_message() -> str:
    return _("请求过大：最多%(n)s个文件，每个不超过 %(mb)s MB") % {
        "n": settings.MAX_FILES_PER_UPLOAD,
        "mb": round(settings.MAX_FILE_SIZE / 1024 / 1024, 1),
    }


def error_body(code: str, message: str, errors: dict | None = None) -> dict:
    body = {"status": "error", "success": False, "code": code, "message": message}
    if errors:
        body["errors"] = errors
    return body


def accepted_body(records: list[UploadRecord]) -> dict:
    """The seed's answer to POST /api/upload."""
    return {
        "success": True,
        "total": len(records),
        "message": _("已接收%(n)s个文件，正在后台上传中") % {"n": len(records)},
        "records": [
            {
                "id": r.pk,
                "file_name": r.file_name,
                "original_name": r.original_name,
                "status": r.status,
                "file_size": r.file_size,
            }
            for r in records
        ],
    }


def record_body(record: UploadRecord) -> dict:
    return {
        "id": record.pk,
        "business_id": record.business_id,
        "doc_number": record.doc_number,
        "doc_type": record.doc_type,
        "product_type": record.product_type,
        "file_name": record.file_name,
        "original_name": record.original_name,
        "file_size": record.file_size,
        "upload_time": record.upload_time.isoformat(),
        "status": record.status,
        "status_label": str(UploadStatus(record.status).label),
        "error_code": record.error_code,
        "error_message": record.error_message,
        "retry_count": record.retry_count,
        "attempts": record.attempts,
        "next_attempt_at": record.next_attempt_at.isoformat() if record.next_attempt_at else None,
        "gives_up_at": record.gives_up_at.isoformat() if record.gives_up_at else None,
        "yonyou_file_id": record.yonyou_file_id,
    }


# What a client may send as its key: a UUID fits, and so does any other token of printable ASCII.
IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,100}$")


def idempotency_key_from(request) -> str | None:
    """The client's key for this request (`Idempotency-Key` header, else the `idempotency_key`
    form field, which the no-JavaScript page carries), or None when it names none."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        key = request.POST.get("idempotency_key")
    return None if key is None or key == "" else key


def client_key_of(request, link) -> services.ClientKey | None:
    """The request's key, within who sent it: a user, or the signed link (keys are the client's,
    so two senders may pick the same one). None without a key; a malformed key is refused."""
    key = idempotency_key_from(request)
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        message = _("Idempotency-Key 须为 1 到 100 个可打印的 ASCII 字符（不含空格）")
        raise services.UploadRejected(message, code="invalid_idempotency_key", errors={"idempotency_key": [message]})
    if link is None:
        return services.ClientKey(scope=f"user:{request.user.pk}", key=key)
    return services.ClientKey(scope="link:" + hashlib.sha256(link.signature.encode()).hexdigest()[:40], key=key)


def upload_from_request(request) -> tuple[int, dict]:
    """The one implementation of an upload request, for the API and the no-JavaScript page.

    A request named with an idempotency key that was stored before is answered with the records
    of the first one (`replayed` in the body) and stores nothing."""
    if request_too_large(request):
        return 413, error_body("too_large", too_large_message())
    data, uploads = request.POST, request.FILES.getlist("files")
    business_id = (data.get("business_id") or "").strip()
    doc_number = data.get("doc_number") or ""
    doc_type = (data.get("doc_type") or "").strip()
    try:
        link = access.authorise(request, business_id=business_id, doc_number=doc_number.strip(), doc_type=doc_type)
    except access.NoAccess as refusal:
        return 403, error_body("permission_denied", str(refusal))
    document = {
        "business_id": business_id,
        "doc_number": doc_number,
        "doc_type": doc_type,
        "product_type": data.get("product_type"),
        "uploads": uploads,
        "user": request.user,
    }
    try:
        client_key = client_key_of(request, link)
        if client_key is None:
            accepted = services.Accepted(records=services.accept_upload(**document))
        else:
            accepted = services.accept_upload_once(client_key=client_key, **document)
    except services.IdempotencyKeyReused as rejection:
        return 422, error_body(rejection.code, rejection.message)
    except services.UploadRejected as rejection:
        return 400, error_body(rejection.code, rejection.message, rejection.errors)
    except files.StoredFileUnavailable:
        logger.exception("object store unavailable, upload refused")
        return 503, error_body("storage_unavailable", _("照片暂时无法保存，请稍后重试"))
    body = accepted_body(accepted.records)
    if accepted.replayed:
        body["replayed"] = True
    return 200, body


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"
    default_detail = "请求过大"


class UploadView(APIView):
    """POST /api/upload — signed link, session or token."""

    permission_classes = [AllowAny]  # authorised per document in `upload_from_request`
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = UPLOAD_THROTTLES

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            files.discard_staging(request)

    def initial(self, request, *args, **kwargs):
        # Before authentication: session auth's CSRF check would read the whole body first.
        if request_too_large(request._request):
            raise PayloadTooLarge(too_large_message())
        try:
            access.authorise_before_body(request._request)
        except access.NoAccess as refusal:
            raise exceptions.PermissionDenied(str(refusal)) from None
        files.use_staging_handlers(request._request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        summary="Upload photos of one business document",
        request={"multipart/form-data": UPLOAD_FORM},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                location=OpenApiParameter.HEADER,
                required=False,
                description="同一请求重发时使用相同的键（如 UUID）：只保存一次，并返回第一次的结果",
            )
        ],
        responses={
            200: UploadAcceptedSerializer,
            400: OpenApiResponse(
                ErrorSerializer, "A missing or invalid field, too many files, or a file that is not an accepted photo"
            ),
            403: OpenApiResponse(ErrorSerializer, "The link or the account may not upload photos of this document"),
            413: OpenApiResponse(
                ErrorSerializer, "A body larger than MAX_FILES_PER_UPLOAD files of MAX_FILE_SIZE could be"
            ),
            422: OpenApiResponse(ErrorSerializer, "The Idempotency-Key already named a request for another document"),
            503: OpenApiResponse(ErrorSerializer, "The photos cannot be stored now; retry later"),
        },
    )
    def post(self, request):
        code, body = upload_from_request(request._request)
        return Response(body, status=code)


class UploadLinkSerializer(serializers.Serializer):
    business_id = serializers.RegexField(r"^[0-9]{1,50}$")  # \d would take full-width digits
    doc_number = serializers.CharField(max_length=100)
    doc_type = serializers.ChoiceField(choices=DocType.choices)
    expires_in_s = serializers.IntegerField(required=False, min_value=60)


class UploadLinkView(APIView):
    """POST /api/upload-links — staff and integrators with the `create_upload_link` permission."""

    @extend_schema(
        summary="Create a signed upload link and its QR code",
        request=UploadLinkSerializer,
        responses={201: UploadLinkCreatedSerializer},
    )
    def post(self, request):
        if not access.may_create_links(request.user):
            raise exceptions.PermissionDenied(_("无权生成上传链接"))
        form = UploadLinkSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        link = links.create_link(
            business_id=form.validated_data["business_id"],
            doc_number=form.validated_data["doc_number"].strip(),
            doc_type=form.validated_data["doc_type"],
            max_age_s=form.validated_data.get("expires_in_s"),
        )
        url = request.build_absolute_uri(link.path())
        return Response(
            {
                "url": url,
                "history_url": request.build_absolute_uri(link.history_path()),
                "expires_at": link.expires_at.isoformat(),
                "qr_svg": links.qr_svg(url),
            },
            status=status.HTTP_201_CREATED,
        )


class HistoryView(APIView):
    """GET /api/history/<business_id> — the records of one document (signed link or member)."""

    permission_classes = [AllowAny]  # authorised per document below

    @extend_schema(
        summary="Upload history of one business document",
        parameters=[OpenApiParameter("sig", str, required=False)],
        responses={
            200: UploadHistorySerializer,
            403: OpenApiResponse(ErrorSerializer, "The link or the account may not see this document"),
        },
    )
    def get(self, request, business_id: str):
        try:
            access.authorise(request._request, business_id=business_id)
        except access.NoAccess as refusal:
            return Response(error_body("permission_denied", str(refusal)), status=403)
        history = selectors.document_history(business_id)
        records = list(history[: selectors.HISTORY_LIMIT])
        return Response(
            {
                "business_id": business_id,
                "total": history.count() if len(records) == selectors.HISTORY_LIMIT else len(records),
                "has_unfinished": selectors.has_unfinished(records),
                "records": [record_body(r) for r in records],
            }
        )


def filtered_records(request):
    records = UploadRecordFilter(request.query_params, queryset=UploadRecord.objects.alive())
    if not records.is_valid():
        raise exceptions.ValidationError(records.errors)
    return records.qs


# The query parameters of UploadRecordFilter, as the seed's admin endpoints name them.
RECORD_FILTER_PARAMETERS = [
    OpenApiParameter("search", str, required=False),
    OpenApiParameter("doc_type", str, enum=DocType.values, required=False),
    OpenApiParameter("product_type", str, required=False),
    OpenApiParameter("status", str, enum=UploadStatus.values, required=False),
    OpenApiParameter("start_date", OpenApiTypes.DATE, required=False),
    OpenApiParameter("end_date", OpenApiTypes.DATE, required=False),
]
PAGING_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, required=False),
    OpenApiParameter(
        "page_size", {"type": "integer", "minimum": 1}, required=False, description="above 200 counts as 200"
    ),
]


class AdminRecordsView(APIView):
    """GET /api/admin/records — the seed's filters and paging."""

    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="Upload records (staff)",
        parameters=RECORD_FILTER_PARAMETERS + PAGING_PARAMETERS,
        responses={200: UploadRecordPageSerializer},
    )
    def get(self, request):
        queryset = filtered_records(request).order_by("-upload_time", "-id")
        page = positive_int_param(request, "page", 1)
        page_size = min(200, positive_int_param(request, "page_size", 20))
        total = queryset.count()
        rows = queryset[(page - 1) * page_size : page * page_size]
        return Response(
            {
                "total": total,
                "page": page,
                "page_size": page_size,
                "total_pages": math.ceil(total / page_size),
                "records": [record_body(r) for r in rows],
            }
        )


class AdminStatisticsView(APIView):
    permission_classes = [IsStaffMember]

    @extend_schema(summary="Upload statistics (staff)", responses={200: UploadStatisticsSerializer})
    def get(self, request):
        return Response(selectors.statistics())


class RetrySerializer(serializers.Serializer):
    # At most 1,000: a form body cannot carry more values (DATA_UPLOAD_MAX_NUMBER_FIELDS).
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, min_length=1, max_length=1000
    )


class AdminRetryView(APIView):
    """POST /api/admin/records/retry {"ids": [...]} — failed ones go back to pending."""

    permission_classes = [IsStaffMember]
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        summary="Retry failed uploads (staff)", request=RetrySerializer, responses={200: UploadsRetriedSerializer}
    )
    def post(self, request):
        form = RetrySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        retried = services.retry_failed(form.validated_data["ids"])
        return Response(
            {"success": True, "retried": retried, "message": _("已重新排队%(n)s条失败记录") % {"n": retried}}
        )


def zip_response(queryset) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export.export_zip(queryset), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export.export_name()}.zip"'
    response["Cache-Control"] = "no-store"
    return response


class AdminExportView(APIView):
    """GET /api/admin/export — the same filters, a streamed ZIP (xlsx + images/)."""

    permission_classes = [IsStaffMember]

    @extend_schema(
        summary="Export upload records as ZIP (staff)",
        parameters=RECORD_FILTER_PARAMETERS,
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request):
        return zip_response(filtered_records(request))
