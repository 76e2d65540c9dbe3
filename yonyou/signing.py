"""The signature of Yonyou's self-built-app token request (自建应用 getAccessToken)."""

import base64
import hashlib
import hmac


def sign(app_secret: str, params: dict[str, str]) -> str:
    """Base64(HmacSHA256(appSecret, name1value1name2value2…)) over the parameters sorted by name.

    The result is the *raw* Base64: the caller URL-encodes it exactly once (httpx `params=` does),
    as Yonyou requires; encoding it twice is a classic cause of "签名错误".
    """
    message = "".join(f"{name}{params[name]}" for name in sorted(params) if name != "signature")
    digest = hmac.new(app_secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(app_secret: str, params: dict[str, str], signature: str) -> bool:
    return hmac.compare_digest(sign(app_secret, params), signature)
