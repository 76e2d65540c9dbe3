"""Request rates for the API, kept in the shared cache: token-authenticated calls per user, and
POST /api/upload per signed link, per user and per client address. Rates are settings
(`API_THROTTLE_RATES`, "N/s|m|h|d"; empty: no limit), read per request."""

import hashlib

from django.conf import settings
from rest_framework.authentication import TokenAuthentication
from rest_framework.throttling import SimpleRateThrottle


class SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope) or None

    def key(self, ident) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class TokenUserThrottle(SettingsRateThrottle):
    """Integrators' scripts: each token user's calls, whatever the address they come from."""

    scope = "api_token"

    def get_cache_key(self, request, view):
        if not isinstance(request.successful_authenticator, TokenAuthentication):
            return None
        return self.key(request.user.pk)


class UploadLinkThrottle(SettingsRateThrottle):
    """Uploads through one signed link (a printed QR code that may have leaked). The signature in
    the query or header only: the form field would mean reading the body before refusing it."""

    scope = "upload_link"

    @staticmethod
    def ident(signature: str) -> str:
        return hashlib.sha256(signature.encode()).hexdigest()[:32]

    def get_cache_key(self, request, view):
        signature = request._request.GET.get("sig") or request._request.headers.get("X-Upload-Signature")
        if not signature:
            return None
        return self.key(self.ident(signature))


class UploadUserThrottle(SettingsRateThrottle):
    scope = "upload_user"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return self.key(request.user.pk)


class UploadAddressThrottle(SettingsRateThrottle):
    """Every upload from one client address (REMOTE_ADDR, or the proxy's X-Forwarded-For when
    DJANGO_BEHIND_PROXY), signed in or not."""

    scope = "upload_ip"

    def get_cache_key(self, request, view):
        return self.key(self.get_ident(request))


class CronPreviewThrottle(SettingsRateThrottle):
    """The scheduler page asks for a cron's words as staff type: per user, whatever the address."""

    scope = "cron_preview"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        return self.key(request.user.pk)


UPLOAD_THROTTLES = [UploadLinkThrottle, UploadUserThrottle, UploadAddressThrottle]
