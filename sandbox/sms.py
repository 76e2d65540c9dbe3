"""Aliyun SMS `SendSms` as the sandbox serves it: `POST /aliyun-sms/` with the RPC parameters as
a form, the HMAC-SHA1 signature checked with the configured AccessKey (SignatureDoesNotMatch,
HTTP 400), a mainland mobile number required (isv.MOBILE_NUMBER_ILLEGAL), the template's
variables required (isv.TEMPLATE_MISSING_PARAMETERS), `per_min` messages per sliding minute
(isv.BUSINESS_LIMIT_CONTROL past it)."""

import json
import re
import uuid
from urllib.parse import parse_qs

from alerts.channels.sms import signature_is_valid
from sandbox.server import Request, Response, Router, SandboxState, now_iso
from sandbox.wecom import client_gone

MOBILE = re.compile(r"(\+?86)?1[3-9]\d{9}")
TEMPLATE_VARIABLES = {"title", "link"}


def answer(code: str, message: str, *, status: int = 200, biz_id: str = "") -> Response:
    body = {"Code": code, "Message": message, "RequestId": uuid.uuid4().hex.upper()}
    if biz_id:
        body["BizId"] = biz_id
    return Response(status, body)


class AliyunSms:
    def __init__(self, *, access_key_id: str, access_key_secret: str):
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret

    def register(self, router: Router) -> None:
        router.add("POST", r"/aliyun-sms/?", self.send_sms)

    def send_sms(self, request: Request, state: SandboxState) -> Response:  # noqa: PLR0911 (checks in the remote's order)
        state.count("sms")
        messaging = state.messaging
        raw = b"".join(request.chunks()).decode()
        params = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        messaging.latency_and_hang("sms")
        if client_gone(request):
            state.count("sms_dropped")
            return answer("isp.SYSTEM_ERROR", "client gone")
        if params.get("AccessKeyId") != self.access_key_id:
            return answer("InvalidAccessKeyId.NotFound", "Specified access key is not found.", status=404)
        if not signature_is_valid(self.access_key_secret, "POST", params):
            return answer("SignatureDoesNotMatch", "Specified signature is not matched.", status=400)
        if params.get("Action") != "SendSms":
            return answer("InvalidAction.NotFound", "Specified api is not found.", status=404)
        if messaging.take_fault("sms", "fail_next"):
            return answer(str(messaging.faults("sms")["error"] or "isp.SYSTEM_ERROR"), "injected fault")
        phone = params.get("PhoneNumbers", "")
        if not MOBILE.fullmatch(phone):
            return answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        try:
            variables = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return answer("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        if not isinstance(variables, dict) or not set(variables) >= TEMPLATE_VARIABLES:
            return answer("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
        if not messaging.within_limit("sms"):
            return answer("isv.BUSINESS_LIMIT_CONTROL", "业务限流")
        biz_id = uuid.uuid4().hex[:20]
        messaging.record(
            "sms_messages",
            {
                "received_at": now_iso(),
                "phone": phone,
                "sign_name": params.get("SignName", ""),
                "template_code": params.get("TemplateCode", ""),
                "template_param": variables,
                "out_id": params.get("OutId", ""),
                "biz_id": biz_id,
            },
        )
        return answer("OK", "OK", biz_id=biz_id)
