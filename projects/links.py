"""Customer links: a signed token naming one `CustomerLink` row, which says until when it is valid
and whether staff revoked it. The signature stops guessing and forging; the row makes a link
revocable and lets its page say "expired" or "revoked" instead of showing data."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import segno
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.models import CustomerLink, Project

SALT = "projects.customer-link"
VALID, EXPIRED, REVOKED, INVALID = "valid", "expired", "revoked", "invalid"
# Writing last_used_at on every view would turn each cached read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=5)


class LinkRefused(ValueError):
    """The link cannot be created as asked (bad duration, deleted project)."""


class LinkNotRevocable(ValueError):
    """The link was already revoked."""


@dataclass(frozen=True)
class LinkCheck:
    state: str
    link: CustomerLink | None = None

    @property
    def valid(self) -> bool:
        return self.state == VALID


def token_for(link: CustomerLink) -> str:
    """The link's token: the same every time (no timestamp), so a printed QR code and the one the
    admin shows later are one link. Expiry and revocation live on the row."""
    return signing.Signer(salt=SALT).sign_object({"l": link.pk})


def customer_path(link: CustomerLink) -> str:
    return reverse("projects:customer-page", args=[token_for(link)])


def create_link(*, project: Project, user=None, days: int | None = None, note: str = "") -> CustomerLink:
    """A new link to `project`, valid for `days` (default PROJECTS_LINK_DEFAULT_AGE_DAYS)."""
    days = settings.PROJECTS_LINK_DEFAULT_AGE_DAYS if days is None else days
    if not 1 <= days <= settings.PROJECTS_LINK_MAX_AGE_DAYS:
        raise LinkRefused(_("有效天数应在 1 到 %(max)s 之间") % {"max": settings.PROJECTS_LINK_MAX_AGE_DAYS})
    if project.deleted_at is not None:
        raise LinkRefused(_("该项目已在项目系统中删除，不能再生成客户链接"))
    now = timezone.now()
    return CustomerLink.objects.create(
        project=project,
        note=note[:200],
        created_at=now,
        created_by=user if user is not None and user.is_authenticated else None,
        expires_at=now + timedelta(days=days),
    )


def revoke_link(*, link: CustomerLink, user=None) -> CustomerLink:
    """Revoke once; a second revocation is refused so staff see it was already done."""
    now = timezone.now()
    revoked = CustomerLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=user if user is not None and user.is_authenticated else None
    )
    if not revoked:
        raise LinkNotRevocable(_("该链接已撤销"))
    link.refresh_from_db()
    return link


def check_token(token: str | None, *, now: datetime | None = None) -> LinkCheck:
    """What a presented token is worth: valid, expired, revoked, or invalid (forged, unknown)."""
    if not token:
        return LinkCheck(INVALID)
    try:
        payload = signing.Signer(salt=SALT).unsign_object(token)
        link_id = int(payload["l"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return LinkCheck(INVALID)
    link = CustomerLink.objects.select_related("project").filter(pk=link_id).first()
    if link is None:
        return LinkCheck(INVALID)
    return LinkCheck(link.state(now), link)


def note_use(link: CustomerLink, *, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if link.last_used_at is None or link.last_used_at < now - LAST_USED_GRANULARITY:
        CustomerLink.objects.filter(pk=link.pk).update(last_used_at=now)


def qr_svg(url: str) -> str:
    """The QR code of `url` as an inline SVG document (no external resources)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, xmldecl=False, svgns=True, title="QR")
    return buffer.getvalue().decode()
