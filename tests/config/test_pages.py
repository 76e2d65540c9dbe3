import json
import logging

import pytest
from django.test import RequestFactory

from config.logging import ContextFilter, JsonFormatter, RequestIdMiddleware


@pytest.mark.django_db
def test_login_page_is_chinese_by_default_and_mobile_friendly(client):
    response = client.get("/accounts/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'lang="zh-hans"' in html
    assert "登录云桥" in html
    assert 'name="viewport"' in html
    assert "cdn" not in html.lower()


@pytest.mark.django_db
def test_login_page_speaks_english_when_asked(client):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sign in to Yunqiao" in html


@pytest.mark.django_db
def test_login_then_home_page(client, field_user):
    response = client.post("/accounts/login/", {"username": "field1", "password": "pw-field1"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_log_lines_are_json_with_the_request_id():
    captured = []

    def view(request):
        record = logging.makeLogRecord({"name": "yunqiao.test", "msg": "inside %s", "args": ("view",)})
        ContextFilter().filter(record)
        captured.append(JsonFormatter().format(record))
        from django.http import HttpResponse

        return HttpResponse("ok")

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="abc-123")
    response = RequestIdMiddleware(view)(request)
    assert response["X-Request-ID"] == "abc-123"
    line = json.loads(captured[0])
    assert line["message"] == "inside view"
    assert line["request_id"] == "abc-123"


def test_forged_request_ids_are_replaced():
    from django.http import HttpResponse

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID='x"\n{"level":"ERROR"}')
    response = RequestIdMiddleware(lambda r: HttpResponse())(request)
    assert response["X-Request-ID"].isalnum()
