"""429 with a Chinese message and Retry-After: token API calls per user, /api/upload per signed
link, per user and per client address. Rates are set per test; the counts live in the cache, so
every key a test can touch is cleared before and after it."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.throttling import TokenUserThrottle, UploadAddressThrottle, UploadLinkThrottle, UploadUserThrottle
from uploads import links

ADDRESSES = ("127.0.0.1", "10.1.1.1", "10.1.1.2")
DOCUMENT = {"business_id": "1836660026080493581", "doc_number": "SO20251021-0001", "doc_type": "销售"}


@pytest.fixture(autouse=True)
def forget_counts():
    """Clear the counts of the given users and links (and of the test addresses) now and after the
    test: in Redis they outlive the test database, whose next run reuses the same user ids."""
    keys = [UploadAddressThrottle().key(address) for address in ADDRESSES]

    def forget(*, users=(), links=()):
        keys.extend(throttle().key(user.pk) for user in users for throttle in (TokenUserThrottle, UploadUserThrottle))
        keys.extend(UploadLinkThrottle().key(UploadLinkThrottle.ident(link.signature)) for link in links)
        cache.delete_many(keys)

    forget()
    yield forget
    cache.delete_many(keys)


def _assert_throttled(response, period_s: int):
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert body["message"].startswith("请求过于频繁，请 ")
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= period_s
    assert body["retry_after_s"] == retry_after


@pytest.mark.django_db
def test_token_calls_over_the_rate_get_429_with_retry_after(staff_user, settings, forget_counts):
    forget_counts(users=[staff_user])
    settings.API_THROTTLE_RATES = {"api_token": "2/hour"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    assert client.get("/api/admin/statistics").status_code == 200
    assert client.get("/api/admin/statistics").status_code == 200
    _assert_throttled(client.get("/api/admin/statistics"), 3600)
    # A signed-in page session is not an integrator's script: not counted.
    session = APIClient()
    session.force_login(staff_user)
    assert session.get("/api/admin/statistics").status_code == 200


@pytest.mark.django_db
def test_the_throttle_message_speaks_english_when_asked(staff_user, settings, forget_counts):
    forget_counts(users=[staff_user])
    settings.API_THROTTLE_RATES = {"api_token": "1/hour"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_user).key}")
    client.get("/api/admin/statistics")
    response = client.get("/api/admin/statistics", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert response.json()["message"].startswith("Too many requests")


@pytest.mark.django_db
def test_uploads_through_one_signed_link_are_limited_per_link(anon_api, settings, forget_counts):
    settings.API_THROTTLE_RATES = {"upload_link": "1/min"}
    link = links.create_link(**DOCUMENT)
    other = links.create_link(**{**DOCUMENT, "doc_number": "SO20251021-0002"})
    forget_counts(links=[link, other])
    assert anon_api.post(f"/api/upload?sig={link.signature}", DOCUMENT).status_code == 400  # no files
    _assert_throttled(anon_api.post(f"/api/upload?sig={link.signature}", DOCUMENT), 60)
    _assert_throttled(anon_api.post("/api/upload", DOCUMENT, HTTP_X_UPLOAD_SIGNATURE=link.signature), 60)
    assert anon_api.post(f"/api/upload?sig={other.signature}", DOCUMENT).status_code != 429


@pytest.mark.django_db
def test_uploads_are_limited_per_user(field_user, outsider, settings, forget_counts):
    forget_counts(users=[field_user, outsider])
    settings.API_THROTTLE_RATES = {"upload_user": "1/day"}
    client = APIClient()
    client.force_authenticate(field_user)
    assert client.post("/api/upload", DOCUMENT).status_code == 400
    _assert_throttled(client.post("/api/upload", DOCUMENT), 86400)
    someone_else = APIClient()
    someone_else.force_authenticate(outsider)
    assert someone_else.post("/api/upload", DOCUMENT).status_code != 429


@pytest.mark.django_db
def test_uploads_are_limited_per_address_and_x_forwarded_for_does_not_escape_it(anon_api, settings):
    settings.API_THROTTLE_RATES = {"upload_ip": "1/hour"}
    assert anon_api.post("/api/upload", DOCUMENT, REMOTE_ADDR="10.1.1.1").status_code == 403
    _assert_throttled(anon_api.post("/api/upload", DOCUMENT, REMOTE_ADDR="10.1.1.1"), 3600)
    spoofed = anon_api.post("/api/upload", DOCUMENT, REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR="10.9.9.9")
    _assert_throttled(spoofed, 3600)
    assert anon_api.post("/api/upload", DOCUMENT, REMOTE_ADDR="10.1.1.2").status_code == 403
