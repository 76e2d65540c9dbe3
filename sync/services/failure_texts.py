"""What a failed day tells staff: a Chinese sentence chosen by the failure's stable code, followed
by the remote's own detail (kept as it came, since support needs it verbatim)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from yonyou import errors

# gettext_lazy: the texts are read in the language active when a day fails, not at import.
_BY_CODE = {
    errors.TIMEOUT: _lazy("用友接口响应超时"),
    errors.CONNECTION: _lazy("无法连接用友接口"),
    errors.RATE_LIMITED: _lazy("用友接口调用过于频繁，已被限流"),
    errors.TOKEN_REFRESH_FAILED: _lazy("无法获取用友访问令牌"),
    errors.AUTH_REJECTED: _lazy("用友拒绝了应用凭据，请检查 AppKey 和 AppSecret"),
    errors.BAD_RESPONSE: _lazy("用友返回的数据格式无法识别"),
    "unknown_doc_type": _lazy("未配置的单据类型"),
}


def _summary(code: str) -> str:
    if code in _BY_CODE:
        return str(_BY_CODE[code])
    if code.startswith("http_5"):
        return _("用友服务器出错（HTTP %(status)s）") % {"status": code.removeprefix("http_")}
    if code.startswith("http_"):
        return _("用友拒绝了请求（HTTP %(status)s）") % {"status": code.removeprefix("http_")}
    if code.startswith("yonyou_"):
        return _("用友返回错误 %(code)s") % {"code": code.removeprefix("yonyou_")}
    return _("调用用友接口失败")


def remote_failure_text(*, code: str, detail: str) -> str:
    """The day's error text for a failed call to Yonyou."""
    return _("%(summary)s：%(detail)s") % {"summary": _summary(code), "detail": detail}


def internal_failure_text(*, exc: Exception) -> str:
    """The day's error text for a failure of our own code."""
    return _("内部错误：%(error)s") % {"error": f"{type(exc).__name__}: {exc}"}
