"""The channel clients against the sandbox over HTTP and SMTP: what arrives, and how each
provider answer is typed (retry later vs give up)."""

import pytest

from alerts.channels import email, sms, wecom_app, wecom_robot
from alerts.channels.errors import PermanentChannelError, RetryableChannelError

pytestmark = pytest.mark.django_db

MESSAGE = {
    "title": "上传失败：SO-1",
    "text": "单据 SO-1 的 2 张照片上传失败，请检查后重试。",
    "link": "http://127.0.0.1:8000/alerts/1/",
    "idempotency_key": "alert-1-fired",
}


def test_robot_message_arrives_as_markdown_with_the_link(sandbox):
    assert wecom_robot.send(address="robot-key-0001", **MESSAGE) == ""
    [received] = sandbox.state()["wecom_messages"]
    assert received["key"] == "robot-key-0001"
    assert received["msgtype"] == "markdown"
    assert "**上传失败：SO-1**" in received["content"]
    assert "[查看详情](http://127.0.0.1:8000/alerts/1/)" in received["content"]


def test_robot_text_longer_than_the_limit_is_cut_but_keeps_the_link(sandbox):
    wecom_robot.send(address="robot-key-0001", **{**MESSAGE, "text": "缺料" * 3000})
    [received] = sandbox.state()["wecom_messages"]
    assert len(received["content"].encode()) <= wecom_robot.MARKDOWN_MAX_BYTES
    assert received["content"].endswith("(http://127.0.0.1:8000/alerts/1/)")


def test_robot_bad_key_is_permanent(sandbox):
    with pytest.raises(PermanentChannelError) as caught:
        wecom_robot.send(address="invalid-key-1", **MESSAGE)
    assert caught.value.code == "wecom_93000"
    assert sandbox.state()["wecom_messages"] == []


def test_robot_45009_is_a_rate_limit_to_retry_after_a_minute(sandbox):
    sandbox.faults(wecom_robot={"fail_next": 1, "error": 45009})
    with pytest.raises(RetryableChannelError) as caught:
        wecom_robot.send(address="robot-key-0001", **MESSAGE)
    assert caught.value.code == "wecom_45009"
    assert caught.value.rate_limited
    assert caught.value.retry_after == 60
    wecom_robot.send(address="robot-key-0001", **MESSAGE)  # the fault was for one message
    assert len(sandbox.state()["wecom_messages"]) == 1


def test_the_sandbox_robot_refuses_the_21st_message_of_a_minute(sandbox):
    for _ in range(20):
        wecom_robot.send(address="robot-key-0001", **MESSAGE)
    with pytest.raises(RetryableChannelError) as caught:
        wecom_robot.send(address="robot-key-0001", **MESSAGE)
    assert caught.value.code == "wecom_45009"
    wecom_robot.send(address="robot-key-0002", **MESSAGE)  # the limit is per robot
    assert len(sandbox.state()["wecom_messages"]) == 21


def test_robot_unreachable_is_retryable(sandbox, settings):
    settings.WECOM_ROBOT_URL = "http://127.0.0.1:9/cgi-bin/webhook/send"
    with pytest.raises(RetryableChannelError) as caught:
        wecom_robot.send(address="robot-key-0001", **MESSAGE)
    assert caught.value.code == "connection_error"


def test_app_message_is_a_text_card_and_returns_the_msgid(sandbox):
    msgid = wecom_app.send(address="zhangsan", **MESSAGE)
    assert msgid
    [received] = sandbox.state()["wecom_messages"]
    assert received["kind"] == "app"
    assert received["touser"] == "zhangsan"
    assert received["content"]["url"] == MESSAGE["link"]


def test_app_token_is_fetched_once_and_shared(sandbox):
    wecom_app.send(address="zhangsan", **MESSAGE)
    wecom_app.send(address="lisi", **MESSAGE)
    assert sandbox.state()["requests"]["wecom_token"] == 1


def test_app_unknown_user_is_permanent(sandbox):
    with pytest.raises(PermanentChannelError) as caught:
        wecom_app.send(address="unknown-user", **MESSAGE)
    assert caught.value.code == "wecom_invalid_user"


def test_app_wrong_secret_is_permanent(sandbox, settings):
    settings.WECOM_CORP_SECRET = "wrong"
    with pytest.raises(PermanentChannelError) as caught:
        wecom_app.send(address="zhangsan", **MESSAGE)
    assert caught.value.code == "wecom_40001"


def test_sms_is_signed_and_sends_the_template_with_title_and_link(sandbox):
    biz_id = sms.send(address="13800138000", **MESSAGE)
    [received] = sandbox.state()["sms_messages"]
    assert received["biz_id"] == biz_id
    assert received["phone"] == "13800138000"
    assert received["template_param"] == {"title": MESSAGE["title"], "link": MESSAGE["link"]}
    assert received["out_id"] == "alert-1-fired"


def test_sms_with_a_wrong_key_secret_fails_the_signature_check(sandbox, settings):
    settings.ALIYUN_ACCESS_KEY_SECRET = "wrong"
    with pytest.raises(PermanentChannelError) as caught:
        sms.send(address="13800138000", **MESSAGE)
    assert caught.value.code == "sms_SignatureDoesNotMatch"
    assert sandbox.state()["sms_messages"] == []


def test_sms_illegal_number_is_permanent(sandbox):
    with pytest.raises(PermanentChannelError) as caught:
        sms.send(address="12345", **MESSAGE)
    assert caught.value.code == "sms_isv.MOBILE_NUMBER_ILLEGAL"


def test_sms_business_limit_is_a_rate_limit(sandbox):
    sandbox.faults(sms={"fail_next": 1, "error": "isv.BUSINESS_LIMIT_CONTROL"})
    with pytest.raises(RetryableChannelError) as caught:
        sms.send(address="13800138000", **MESSAGE)
    assert caught.value.rate_limited


def test_email_arrives_over_smtp_with_plain_and_html_bodies(sandbox):
    message_id = email.send(address="ops@example.com", **MESSAGE)
    [received] = sandbox.state()["emails"]
    assert received["to"] == ["ops@example.com"]
    assert received["subject"] == MESSAGE["title"]
    assert received["message_id"] == message_id == email.message_id("alert-1-fired")
    assert MESSAGE["link"] in received["text"]
    assert f'href="{MESSAGE["link"]}"' in received["html"]


def test_email_to_an_unknown_mailbox_is_permanent(sandbox):
    with pytest.raises(PermanentChannelError) as caught:
        email.send(address="unknown@example.com", **MESSAGE)
    assert caught.value.code == "smtp_550"


def test_email_throttled_by_the_server_is_a_rate_limit(sandbox):
    sandbox.faults(smtp={"fail_next": 1, "error": 421})
    with pytest.raises(RetryableChannelError) as caught:
        email.send(address="ops@example.com", **MESSAGE)
    assert caught.value.code == "smtp_421"
    assert caught.value.rate_limited


def test_unknown_fault_keys_are_refused(sandbox):
    import httpx

    answer = httpx.post(f"{sandbox.url}/__sandbox__/faults", json={"wecom_robot": {"fail_soon": 1}})
    assert answer.status_code == 400
