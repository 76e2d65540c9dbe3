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
def test_after_signing_in_field_users_land_on_the_upload_page_and_staff_on_their_menu(
    client, field_user, staff_user, outsider
):
    for user, password, page in (
        (field_user, "pw-field1", "/uploads/"),
        (staff_user, "pw-staff1", "/home/"),
        (outsider, "pw-outsider1", "/home/"),
    ):
        client.logout()
        signed_in = client.post("/accounts/login/", {"username": user.username, "password": password}, follow=True)
        assert signed_in.redirect_chain[-1][0] == page, user.username
        assert signed_in.status_code == 200
        # Opening the site's root, as the README says, leads to the same page.
        assert client.get("/", follow=True).redirect_chain[-1][0] == page, user.username


def test_opening_the_root_signed_out_leads_through_the_sign_in_page_to_ones_own_page(client, staff_user):
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    signed_in = client.post(
        response.redirect_chain[-1][0], {"username": "staff1", "password": "pw-staff1"}, follow=True
    )
    assert signed_in.redirect_chain[-1][0] == "/home/", "staff do not land on the field upload page"


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


@pytest.mark.django_db
def test_home_lists_what_each_kind_of_user_may_open(client, field_user, staff_user, outsider):
    client.force_login(field_user)
    html = client.get("/home/").content.decode()
    assert "/uploads/" in html and "/scheduler/" not in html
    client.force_login(staff_user)
    html = client.get("/home/").content.decode()
    assert all(path in html for path in ("/uploads/", "/sync/", "/scheduler/", "/admin/"))
    client.force_login(outsider)
    assert "尚未分配权限" in client.get("/home/").content.decode()


@pytest.mark.django_db
def test_root_keeps_the_query_of_old_qr_codes(client):
    response = client.get("/?business_id=1&doc_number=SO1&doc_type=%E9%94%80%E5%94%AE")
    assert response.status_code == 302
    assert response["Location"] == "/uploads/?business_id=1&doc_number=SO1&doc_type=%E9%94%80%E5%94%AE"


@pytest.mark.django_db
def test_a_person_can_switch_the_language_and_back(client):
    assert "登录云桥" in client.get("/accounts/login/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    html = client.get("/accounts/login/").content.decode()
    assert "Sign in to Yunqiao" in html
    assert 'value="zh-hans"' in html  # the way back
