"""Who may upload for, or read the history of, a document: a `field` member, staff or an API
token of either for any document; anyone else only with a valid signed link for that document."""

from django.utils.translation import gettext as _

from config.permissions import is_field_member, is_staff_member
from uploads import links


class NoAccess(Exception):
    """Refused, with a message fit to show a field user (Chinese by default)."""


def signature_from(request) -> str:
    """The link's signature: query string (`sig`), header, or form field."""
    return (
        request.GET.get("sig")
        or request.headers.get("X-Upload-Signature")
        or (request.POST.get("sig") if request.method == "POST" else "")
        or ""
    )


def authorise(request, *, business_id: str, doc_number: str | None = None, doc_type: str | None = None):
    """The signed link used (or None for a member); raises NoAccess otherwise."""
    if is_field_member(request.user):
        return None
    signature = signature_from(request)
    if not signature:
        raise NoAccess(_("需要登录，或使用单据上的二维码链接访问"))
    try:
        return links.verify(signature, business_id=business_id, doc_number=doc_number, doc_type=doc_type)
    except links.InvalidLink:
        raise NoAccess(_("二维码链接无效或已过期，请重新扫描单据上的二维码或联系管理员")) from None


def signature_outside_body(request) -> str:
    """The link's signature when it travels in the query string or a header (never the body)."""
    return request.GET.get("sig") or request.headers.get("X-Upload-Signature") or ""


def authorise_before_body(request) -> None:
    """Refuse an upload before a byte of its body is read, when the credentials it carries outside
    the body (session, `Authorization: Token`, `?sig=`, `X-Upload-Signature`) do not allow it.

    The document the body names is checked against a link once it has been read (`authorise`); a
    caller with no credentials outside the body may still carry a link in the form (`sig`), so its
    body is read, into staging files that are removed when the request ends in any way."""
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    if is_field_member(request.user):
        return
    if request.headers.get("Authorization", "").split(" ", 1)[0].lower() == "token":
        try:
            authenticated = TokenAuthentication().authenticate(request)
        except AuthenticationFailed:
            authenticated = None
        if authenticated is None or not is_field_member(authenticated[0]):
            raise NoAccess(_("API 令牌无效，或该账号无上传权限"))
        return
    signature = signature_outside_body(request)
    if signature:
        try:
            links.verify_signature(signature)
        except links.InvalidLink:
            raise NoAccess(_("二维码链接无效或已过期，请重新扫描单据上的二维码或联系管理员")) from None


def may_create_links(user) -> bool:
    return is_staff_member(user) or bool(user and user.has_perm("uploads.create_upload_link"))
