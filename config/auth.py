"""Brute-force protection of the login page and the admin (django-axes): after
LOGIN_FAILURE_LIMIT wrong passwords for one user name from one address, that pair is refused for
LOGIN_LOCKOUT_MINUTES with a Chinese page and 429."""

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.shortcuts import render


class LoginAttemptsBackend(AxesStandaloneBackend):
    """Axes' check, for sign-ins that come with a request. authenticate() without one (a script,
    the test client's login()) has no client address to count or lock out."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    if cool_off:
        response["Retry-After"] = str(math.ceil(cool_off.total_seconds()))
    return response


def client_address(request) -> str | None:
    """REMOTE_ADDR, or behind our TLS proxy the address it appended to X-Forwarded-For (the last
    one; those before it are whatever the client sent). DRF's throttles read it the same way."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if settings.BEHIND_PROXY and forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")
