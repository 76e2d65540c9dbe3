"""Aliyun SMS `SendSms` as the sandbox serves it: `POST /aliyun-sms/` with the RPC parameters as
a form, the HMAC-SHA1 signature checked with the configured AccessKey (SignatureDoesNotMatch,
HTTP 400), a mainland mobile number required (isv.MOBILE_NUMBER_ILLEGAL), the template's
variables required (isv.TEMPLATE_MISSING_PARAMETERS), `per_min` messages per sliding minute
(isv.BUSINESS_LIMIT_CONTROL past it). `QuerySendDetails` (same endpoint, signed alike) lists what
one number was sent on one day, each with the `OutId` the sender gave: how a sender that crashed
after Aliyun's answer finds out the message went."""

import json
import re
import uuid
from datetime import datetime
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from alerts.channels.sms import signature_is_valid
from sandbox.server import Request, Response, Router, SandboxState, now_iso
from sandbox.wecom import client_gone

CHINA = ZoneInfo("Asia/Shanghai")
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
        if params.get("Action") == "QuerySendDetails":
            return self.query_send_details(params, state)
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

    def query_send_details(self, params: dict, state: SandboxState) -> Response:
        """Aliyun's `QuerySendDetails`: one number, one day (yyyyMMdd, China time), paged."""
        phone = params.get("PhoneNumber", "")
        day = params.get("SendDate", "")
        if not MOBILE.fullmatch(phone) or not re.fullmatch(r"\d{8}", day):
            return answer("isv.INVALID_PARAMETERS", "参数异常")
        size = min(50, max(1, int(params.get("PageSize") or 10)))
        page = max(1, int(params.get("CurrentPage") or 1))
        sent = [
            message
            for message in state.messaging.snapshot()["sms_messages"]
            if message["phone"] == phone
            and china_day(message["received_at"]) == day
            and params.get("BizId", message["biz_id"]) == message["biz_id"]
        ]
        details = [
            {
                "PhoneNum": message["phone"],
                "SendStatus": 3,
                "ErrCode": "DELIVERED",
                "TemplateCode": message["template_code"],
                "Content": json.dumps(message["template_param"], ensure_ascii=False),
                "SendDate": message["received_at"],
                "ReceiveDate": message["received_at"],
                "OutId": message["out_id"],
            }
            for message in sent[(page - 1) * size : page * size]
        ]
        body = {
            "Code": "OK",
            "Message": "OK",
            "RequestId": uuid.uuid4().hex.upper(),
            "TotalCount": len(sent),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": details},
        }
        return Response(200, body)


def china_day(received_at: str) -> str:
    return datetime.fromisoformat(received_at).astimezone(CHINA).strftime("%Y%m%d")
