"""People's pages: the upload form opened from a QR code, and a document's upload history."""

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from config.permissions import is_field_member, is_staff_member
from uploads import access, files, selectors
from uploads.api import request_too_large, too_large_message, upload_from_request
from uploads.models import DocType, UploadRecord, UploadStatus

# Shown as pictures in the history and the admin: what every browser displays (not PDF, HEIC).
PHOTO_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
}

ACCENTS = {DocType.SALES: "sales", DocType.TRANSFER: "transfer", DocType.OTHER: "other"}


def root_redirect(request):
    """`/` → `/uploads/` with the query kept: old QR codes point at `/?business_id=…`. Without a
    query, each kind of user goes to their own page (`landing`), signing in first if need be."""
    if request.META.get("QUERY_STRING"):
        return redirect(f"{reverse('uploads:upload-page')}?{request.META['QUERY_STRING']}")
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("landing"))
    return redirect("landing")


def _document(request) -> dict:
    source = request.POST if request.method == "POST" else request.GET
    return {
        "business_id": (source.get("business_id") or request.GET.get("business_id") or "").strip(),
        "doc_number": (source.get("doc_number") or request.GET.get("doc_number") or "").strip(),
        "doc_type": (source.get("doc_type") or request.GET.get("doc_type") or "").strip(),
    }


def _refused(request, message: str, status: int = 403):
    return render(request, "uploads/refused.html", {"message": message}, status=status)


@csrf_exempt  # the size check comes first; CSRF is enforced right after, in _upload_page
@require_http_methods(["GET", "POST"])
def upload_page(request):
    if request.method != "POST":
        return _upload_page(request)
    if request_too_large(request):
        return _refused(request, too_large_message(), status=413)
    try:
        access.authorise_before_body(request)  # before the CSRF check reads the form
    except access.NoAccess as refusal:
        return _refused(request, str(refusal))
    if not request.user.is_authenticated and not access.signature_outside_body(request):
        # The page posts back to its own URL, which carries the link: an anonymous post without
        # one is refused before its body is read.
        return _refused(request, _("需要登录，或使用单据上的二维码链接访问"))
    files.use_staging_handlers(request)
    try:
        return _upload_page(request)
    finally:
        files.discard_staging(request)


@csrf_protect
def _upload_page(request):
    document = _document(request)
    member = is_field_member(request.user)
    if not member and not access.signature_from(request) and not request.user.is_authenticated and not request.GET:
        return redirect_to_login(request.get_full_path())
    link = None
    if not member:
        try:
            link = access.authorise(request, **document)
        except access.NoAccess as refusal:
            return _refused(request, str(refusal))
    context = {
        "document": document,
        "locked": link is not None or bool(document["business_id"] and document["doc_number"] and document["doc_type"]),
        "signature": link.signature if link else "",
        "link_expires_at": link.expires_at if link else None,
        "accent": ACCENTS.get(document["doc_type"], "default"),
        "doc_types": DocType.choices,
        "product_type": "",
        "max_files": settings.MAX_FILES_PER_UPLOAD,
        "max_mb": round(settings.MAX_FILE_SIZE / 1024 / 1024, 1),
        "accept": ",".join([*settings.UPLOAD_ALLOWED_EXTENSIONS, "image/*"]),
        "is_staff_member": is_staff_member(request.user),
        "photo_max_side": settings.UPLOAD_PHOTO_MAX_SIDE,
        "photo_quality": settings.UPLOAD_PHOTO_QUALITY,
        "upload_i18n": upload_page_texts(),
        "history_url": _history_url(document["business_id"], link),
        "result": None,
        "error": None,
        "idempotency_key": uuid.uuid4().hex,
    }
    status = 200
    if request.method == "POST":
        status, body = upload_from_request(request)
        context["product_type"] = request.POST.get("product_type", "")
        if status == 200:
            context["result"] = body
        else:
            context["error"] = body
    return render(request, "uploads/upload.html", context, status=status)


def upload_page_texts() -> dict:
    """The upload queue's words, handed to its script as JSON (never parsed as HTML)."""
    return {
        "compressing": _("压缩中"),
        "uploading": _("上传中 {n}%"),
        "saved": _("已保存"),
        "done": _("已上传到用友"),
        "failed": _("失败"),
        "retry": _("重试"),
        "network": _("网络中断，未能送达服务器。"),
        "busy": _("服务器繁忙。"),
        "autoRetry": _("将自动重试。"),
    }


def _history_url(business_id: str, link) -> str:
    if not business_id:
        return ""
    url = reverse("uploads:history-page", args=[business_id])
    return f"{url}?{urlencode(link.query())}" if link else url


@require_GET
def history_page(request, business_id: str):
    if not is_field_member(request.user) and not access.signature_from(request) and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        link = access.authorise(request, business_id=business_id)
    except access.NoAccess as refusal:
        return _refused(request, str(refusal))
    records = list(selectors.document_history(business_id)[: selectors.HISTORY_LIMIT])
    first = records[0] if records else None
    doc_type = link.doc_type if link else (first.doc_type if first else "")
    api_url = reverse("uploads:api-history", args=[business_id])
    upload_url = reverse("uploads:upload-page")
    # The history script fills in each record's id.
    photo_url = reverse("uploads:record-photo", args=[0]).replace("/0/", "/{id}/")
    if link:
        api_url += "?" + urlencode({"sig": link.signature})
        upload_url += "?" + urlencode(link.query())
        photo_url += "?" + urlencode({"sig": link.signature})
    for record in records:
        record.photo_url = photo_url.replace("{id}", str(record.pk)) if has_photo(record) else ""
    return render(
        request,
        "uploads/history.html",
        {
            "business_id": business_id,
            "doc_number": link.doc_number if link else (first.doc_number if first else ""),
            "accent": ACCENTS.get(doc_type, "default"),
            "records": records,
            "polling": selectors.has_unfinished(records),
            "api_url": api_url,
            "upload_url": upload_url,
            "photo_url": photo_url,
            "statuses": UploadStatus,
        },
    )


def has_photo(record: UploadRecord) -> bool:
    return record.file_extension.lower() in PHOTO_TYPES and record.local_file_deleted_at is None


@require_GET
def record_photo(request, record_id: int):
    """The stored photo of one record, for whoever may read its document's history (member, staff
    or that document's signed link): stored files are never under a public URL."""
    if not is_field_member(request.user) and not access.signature_from(request):
        # Without a link or membership nothing is answered, not even whether the record exists.
        return _refused(request, _("需要登录，或使用单据上的二维码链接访问"))
    record = get_object_or_404(UploadRecord.objects.alive(), pk=record_id)
    try:
        access.authorise(request, business_id=record.business_id)
    except access.NoAccess as refusal:
        return _refused(request, str(refusal))
    if not has_photo(record):
        raise Http404
    try:
        photo = files.absolute_path(record.local_file_path).open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(photo, content_type=PHOTO_TYPES[record.file_extension.lower()])
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Disposition"] = "inline"
    return response
