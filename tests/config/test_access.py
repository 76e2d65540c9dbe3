"""Every URL refuses an anonymous caller, except a short explicit list of public ones."""

import json
import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

PUBLIC_URLS = {
    "api/health",  # probes
    "metrics",  # Prometheus scrapers: checks its own bearer token (401), 404 when no token is set
    "accounts/login/",
    "accounts/logout/",
    "admin/login/",
    "admin/logout/",
    "i18n/setlang/",
    # Customer links: the signed token in the path or query is the authorisation; an invalid,
    # expired or revoked one gets a page or answer saying so and no project data.
    "api/projects/1/verify-access",
    "p/x/",
    "p/x/refresh",
}

_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?:[^()]|\([^()]*\))*\)")


def _sample_value(name: str) -> str:
    if name == "app_label":
        return "auth"
    if name == "model_name":
        return "user"
    if name.endswith("uuid"):
        return str(uuid.uuid4())
    if name.endswith("id") or name in ("pk", "object_id", "content_type_id"):
        return "1"
    return "x"


def _walk(patterns, prefix=""):
    for entry in patterns:
        regex = entry.pattern.regex.pattern.lstrip("^").replace(r"\Z", "").rstrip("$")
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + regex)
        elif isinstance(entry, URLPattern):
            yield prefix + regex


def concrete_paths() -> set[str]:
    paths = set()
    for regex in _walk(get_resolver().url_patterns):
        path = _GROUP.sub(lambda m: _sample_value(m.group("name")), regex)
        path = path.replace("\\", "").replace("^", "").replace("$", "")
        if any(ch in path for ch in "()[]?*+|"):
            continue  # unnamed regex groups (e.g. admin's catch-all) are covered by their named siblings
        paths.add(path)
    return paths


def _refuses(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 302 and "login" in response["Location"]


def test_walk_finds_the_project_urls():
    paths = concrete_paths()
    assert "api/health" in paths
    assert "api/schema/" in paths
    assert "admin/auth/user/" in paths


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(concrete_paths() - PUBLIC_URLS))
def test_non_public_url_refuses_an_anonymous_caller(client, path):
    responses = [client.get("/" + path), client.post("/" + path)]
    refused = [r for r in responses if _refuses(r)]
    assert refused, f"/{path} answered {[r.status_code for r in responses]} to an anonymous caller"
    for response in responses:
        assert response.status_code < 200 or response.status_code >= 300 or _refuses(response), path


@pytest.mark.django_db
def test_api_refuses_anonymous_with_the_standard_error_body(anon_api):
    response = anon_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    body = json.loads(response.content)
    assert body["status"] == "error"
    assert body["code"] == "not_authenticated"
    assert body["message"]


@pytest.mark.django_db
def test_token_authentication_works(django_user_model, anon_api):
    from rest_framework.authtoken.models import Token

    user = django_user_model.objects.create_user("integrator", password="x")
    token = Token.objects.create(user=user)
    anon_api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert anon_api.get("/api/schema/").status_code == 200


@pytest.mark.django_db
def test_groups_exist_after_migrations():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"field", "staff"}


@pytest.mark.django_db(transaction=True)
def test_groups_survive_a_flush_of_the_database():
    """Transactional tests flush every table; post_migrate puts the groups back."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("flush", verbosity=0, interactive=False)
    assert set(Group.objects.values_list("name", flat=True)) >= {"field", "staff"}


@pytest.mark.django_db
def test_staff_group_holds_the_permissions_apps_declare():
    from django.apps import apps
    from django.contrib.auth.models import Group

    granted = set(Group.objects.get(name="staff").permissions.values_list("content_type__app_label", "codename"))
    declared = {
        (config.label, codename)
        for config in apps.get_app_configs()
        for codename in getattr(config, "group_permissions", {}).get("staff", [])
    }
    assert declared
    assert declared <= granted


@pytest.mark.django_db
def test_api_docs_send_a_signed_out_browser_to_the_sign_in_page(client, field_user):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs/"
    client.force_login(field_user)
    assert client.get("/api/docs/").status_code == 200
