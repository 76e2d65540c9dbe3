"""Aliyun SMS `SendSms` (阿里云短信): an RPC call signed with HMAC-SHA1 over the sorted,
percent-encoded parameters (Aliyun "RPC signature v1"), sending an approved template whose
variables are a short title and the link. Facts: `{"Code": "OK"}` ok,
`isv.BUSINESS_LIMIT_CONTROL` rate limited; SendSms is not idempotent (Aliyun's reference: "does
not support idempotence … implement your own"; after a timeout, "check the delivery receipt
status before retrying"). So every message carries our idempotency key as its `OutId`, and
`find_sent` asks `QuerySendDetails` whether a message with that OutId already went to the number,
before an attempt whose predecessor may have reached Aliyun is sent again."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.conf import settings

from alerts.channels.errors import PermanentChannelError, RetryableChannelError
from alerts.channels.http import request_json

RATE_LIMITED = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling"}
TRANSIENT = {"isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY_BUSY", "SignatureNonceUsed", "ServiceUnavailable"}
# Aliyun caps each template variable (35 characters for notification templates).
TEMPLATE_VARIABLE_MAX = 35
RATE_LIMIT_WAIT_S = 60.0
OUT_ID_MAX = 256
QUERY_PAGE_SIZE = 50  # Aliyun's largest page
CHINA = ZoneInfo("Asia/Shanghai")


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


def _rpc(action: str, **params: str) -> dict:
    """One signed RPC call; the answer's JSON (4xx answers carry an Aliyun code too)."""
    params = {
        "AccessKeyId": settings.ALIYUN_ACCESS_KEY_ID,
        "Action": action,
        "Format": "JSON",
        "RegionId": "cn-hangzhou",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": uuid.uuid4().hex,
        "SignatureVersion": "1.0",
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2017-05-25",
        **params,
    }
    params["Signature"] = signature(settings.ALIYUN_ACCESS_KEY_SECRET, "POST", params)
    return request_json("POST", settings.ALIYUN_SMS_URL, provider="Aliyun SMS", answer_4xx=True, data=params)


def out_id(idempotency_key: str) -> str:
    return idempotency_key[:OUT_ID_MAX]


def find_sent(*, address: str, idempotency_key: str, since: datetime) -> str | None:
    """The BizId of a message already sent to `address` with this key as its OutId, on the China
    days from `since` to today, or None. An error answer counts as "not found" (the send that
    follows is then at-least-once, as before) except a rate limit, which is retried later."""
    wanted = out_id(idempotency_key)
    day = since.astimezone(CHINA).date()
    today = datetime.now(CHINA).date()
    while day <= today:
        page = 1
        while True:
            payload = _rpc(
                "QuerySendDetails",
                PhoneNumber=address,
                SendDate=day.strftime("%Y%m%d"),
                PageSize=str(QUERY_PAGE_SIZE),
                CurrentPage=str(page),
            )
            code = str(payload.get("Code"))
            if code in RATE_LIMITED:
                raise RetryableChannelError(f"sms_{code}", f"Aliyun SMS {code}", retry_after=RATE_LIMIT_WAIT_S)
            if code != "OK":
                return None
            details = (payload.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
            for detail in details:
                if detail.get("OutId") == wanted:
                    return str(detail.get("BizId") or "")
            if page * QUERY_PAGE_SIZE >= int(payload.get("TotalCount") or 0) or not details:
                break
            page += 1
        day += timedelta(days=1)
    return None


def send(*, address: str, title: str, text: str, link: str, idempotency_key: str) -> str:
    """Send the alert template to the phone number `address`; the answer is Aliyun's BizId."""
    params = {
        "PhoneNumbers": address,
        "SignName": settings.ALIYUN_SMS_SIGN_NAME,
        "TemplateCode": settings.ALIYUN_SMS_TEMPLATE_CODE,
        "TemplateParam": json.dumps(template_params(title=title, link=link), ensure_ascii=False),
        "OutId": out_id(idempotency_key),
    }
    payload = _rpc("SendSms", **params)
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
