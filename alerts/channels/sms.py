"""Aliyun SMS `SendSms` (阿里云短信): an RPC call signed with HMAC-SHA1 over the sorted,
percent-encoded parameters (Aliyun "RPC signature v1"), sending an approved template whose
variables are a short title and the link. Facts: `{"Code": "OK"}` ok,
`isv.BUSINESS_LIMIT_CONTROL` rate limited; SendSms is not idempotent."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from django.conf import settings

from alerts.channels.errors import PermanentChannelError, RetryableChannelError
from alerts.channels.http import request_json

RATE_LIMITED = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling"}
TRANSIENT = {"isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY_BUSY", "SignatureNonceUsed", "ServiceUnavailable"}
# Aliyun caps each template variable (35 characters for notification templates).
TEMPLATE_VARIABLE_MAX = 35
RATE_LIMIT_WAIT_S = 60.0


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun requires: space → %20, * → %2A, ~ kept."""
    return quote(value, safe="-_.~")


def signature(secret: str, method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params) if k != "Signature")
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(secret: str, method: str, params: dict[str, str]) -> bool:
    return hmac.compare_digest(signature(secret, method, params), params.get("Signature", ""))


def template_params(*, title: str, link: str) -> dict[str, str]:
    return {"title": title[:TEMPLATE_VARIABLE_MAX], "link": link}


def send(*, address: str, title: str, text: str, link: str, idempotency_key: str) -> str:
    """Send the alert template to the phone number `address`; the answer is Aliyun's BizId."""
    params = {
        "AccessKeyId": settings.ALIYUN_ACCESS_KEY_ID,
        "Action": "SendSms",
        "Format": "JSON",
        "RegionId": "cn-hangzhou",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": uuid.uuid4().hex,
        "SignatureVersion": "1.0",
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2017-05-25",
        "PhoneNumbers": address,
        "SignName": settings.ALIYUN_SMS_SIGN_NAME,
        "TemplateCode": settings.ALIYUN_SMS_TEMPLATE_CODE,
        "TemplateParam": json.dumps(template_params(title=title, link=link), ensure_ascii=False),
        "OutId": idempotency_key[:256],
    }
    params["Signature"] = signature(settings.ALIYUN_ACCESS_KEY_SECRET, "POST", params)
    payload = request_json("POST", settings.ALIYUN_SMS_URL, provider="Aliyun SMS", answer_4xx=True, data=params)
    code = str(payload.get("Code"))
    if code == "OK":
        return str(payload.get("BizId") or "")
    detail = f"Aliyun SMS {code}: {payload.get('Message', '')}"
    if code in RATE_LIMITED:
        raise RetryableChannelError(f"sms_{code}", detail, retry_after=RATE_LIMIT_WAIT_S, rate_limited=True)
    if code in TRANSIENT:
        raise RetryableChannelError(f"sms_{code}", detail)
    # isv.MOBILE_NUMBER_ILLEGAL, SignatureDoesNotMatch, isv.SMS_TEMPLATE_ILLEGAL …
    raise PermanentChannelError(f"sms_{code}", detail)
