import pytest
from django.test import RequestFactory
from django.utils import translation
from django.views.defaults import server_error


@pytest.mark.django_db
def test_anonymous_404_is_a_chinese_page_without_the_url_patterns(client):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'lang="zh-hans"' in html
    assert "页面不存在" in html
    assert "admin/" not in html
    assert "URLconf" not in html


@pytest.mark.django_db
def test_404_speaks_english_when_asked(client):
    html = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Page not found" in html


def test_500_is_a_chinese_page_that_needs_no_request_context():
    with translation.override("zh-hans"):
        response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "服务器出错了" in html
    assert "Traceback" not in html


@pytest.mark.django_db
def test_a_page_refused_to_a_signed_in_user_is_a_chinese_page(client, field_user):
    """Walked under `make run`: a field user opening the project dashboard got Django's bare
    English "403 Forbidden"."""
    client.force_login(field_user)
    response = client.get("/projects/dashboard/")
    html = response.content.decode()
    assert response.status_code == 403
    assert 'lang="zh-hans"' in html
    assert "没有权限" in html
    assert "Forbidden" not in html
    english = client.get("/projects/dashboard/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "permission" in english
