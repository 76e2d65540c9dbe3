"""Signed upload links: the QR code on a paper document authorises uploads and history for that
one document only, until it expires. Nothing is stored: the signature is the authorisation."""

import datetime
import io
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

SALT = "uploads.upload-link"


class InvalidLink(Exception):
    """The link is missing, forged, expired, or for another document."""


@dataclass(frozen=True)
class UploadLink:
    business_id: str
    doc_number: str
    doc_type: str
    expires_at: datetime.datetime
    signature: str

    def query(self) -> dict[str, str]:
        return {
            "business_id": self.business_id,
            "doc_number": self.doc_number,
            "doc_type": self.doc_type,
            "sig": self.signature,
        }

    def path(self) -> str:
        return f"{reverse('uploads:upload-page')}?{urlencode(self.query())}"

    def history_path(self) -> str:
        url = reverse("uploads:history-page", args=[self.business_id])
        return f"{url}?{urlencode(self.query())}"


def create_link(*, business_id: str, doc_number: str, doc_type: str, max_age_s: int | None = None) -> UploadLink:
    """Sign a link for one document, valid for `max_age_s` (at most UPLOAD_LINK_MAX_AGE_S)."""
    limit = settings.UPLOAD_LINK_MAX_AGE_S
    age = min(max_age_s or limit, limit)
    expires = int(time.time()) + age
    signature = signing.dumps({"b": business_id, "n": doc_number, "t": doc_type, "e": expires}, salt=SALT)
    return UploadLink(
        business_id=business_id,
        doc_number=doc_number,
        doc_type=doc_type,
        expires_at=datetime.datetime.fromtimestamp(expires, tz=datetime.UTC),
        signature=signature,
    )


def verify_signature(signature: str | None) -> dict:
    """The signed payload when `signature` is genuine and unexpired, whatever its document."""
    if not signature:
        raise InvalidLink("missing")
    try:
        payload = signing.loads(signature, salt=SALT)
    except signing.BadSignature:
        raise InvalidLink("forged") from None
    if not isinstance(payload, dict) or int(payload.get("e", 0)) < time.time():
        raise InvalidLink("expired")
    return payload


def verify(signature: str | None, *, business_id: str, doc_number: str | None = None, doc_type: str | None = None):
    """The link's document when `signature` is valid, unexpired and for this document, else InvalidLink.

    History only knows the business_id, so doc_number/doc_type are compared only when given."""
    payload = verify_signature(signature)
    if payload.get("b") != business_id:
        raise InvalidLink("other document")
    if doc_number is not None and payload.get("n") != doc_number:
        raise InvalidLink("other document")
    if doc_type is not None and payload.get("t") != doc_type:
        raise InvalidLink("other document")
    return UploadLink(
        business_id=payload["b"],
        doc_number=payload["n"],
        doc_type=payload["t"],
        expires_at=datetime.datetime.fromtimestamp(int(payload["e"]), tz=datetime.UTC),
        signature=signature,
    )


def qr_svg(url: str) -> str:
    """The QR code of `url` as an inline SVG document (no external resources)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, xmldecl=False, svgns=True, title="QR")
    return buffer.getvalue().decode()


def local_expiry(link: UploadLink) -> datetime.datetime:
    return timezone.localtime(link.expires_at)
