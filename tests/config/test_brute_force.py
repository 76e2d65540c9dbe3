"""Sign-in lockout (django-axes) on the login page and the admin login."""

import pytest
from django.conf import settings

from tests.conftest import make_user

WRONG = "not-the-password"


@pytest.fixture
def staff_member(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # many sign-ins, fast
    return make_user(django_user_model, "staff1", groups=["staff"], is_staff=True)


def _sign_in(client, path: str, password: str, address: str = "10.0.0.7"):
    return client.post(path, {"username": "staff1", "password": password}, REMOTE_ADDR=address)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_sign_in_is_locked_after_the_failure_limit_even_with_the_right_password(client, staff_member, path):
    limit = settings.LOGIN_FAILURE_LIMIT
    assert limit == 5  # the documented default
    for _ in range(limit - 1):
        assert _sign_in(client, path, WRONG).status_code == 200  # the form again, with its error

    locked = _sign_in(client, path, WRONG)
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "密码错误次数过多" in html
    assert f"请 {settings.LOGIN_LOCKOUT_MINUTES} 分钟后再试" in html
    assert locked["Retry-After"] == str(settings.LOGIN_LOCKOUT_MINUTES * 60)

    assert _sign_in(client, path, "pw-staff1").status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_lockout_holds_for_that_address_only_and_success_resets_the_count(client, staff_member):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _sign_in(client, "/accounts/login/", WRONG, address="10.0.0.7")
    assert _sign_in(client, "/accounts/login/", "pw-staff1", address="10.0.0.7").status_code == 429

    # Someone guessing from elsewhere cannot lock the staff member out of their own desk.
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _sign_in(client, "/accounts/login/", WRONG, address="10.0.0.8")
    assert _sign_in(client, "/accounts/login/", "pw-staff1", address="10.0.0.8").status_code == 302
    client.logout()
    # ...and the success started the count again there.
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _sign_in(client, "/accounts/login/", WRONG, address="10.0.0.8").status_code == 200


@pytest.mark.django_db
def test_the_failure_limit_and_lockout_are_settings(client, staff_member, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert _sign_in(client, "/accounts/login/", WRONG).status_code == 200
    assert _sign_in(client, "/accounts/login/", WRONG).status_code == 429


@pytest.mark.django_db
def test_the_lockout_page_speaks_english_when_asked(client, staff_member):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = client.post(
            "/accounts/login/",
            {"username": "staff1", "password": WRONG},
            REMOTE_ADDR="10.0.0.9",
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 429
    assert "Too many wrong passwords" in response.content.decode()
