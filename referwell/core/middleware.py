"""The client's address behind a reverse proxy.

With TRUSTED_PROXY_COUNT = N (N proxies in front of the app, each appending the address it saw to
X-Forwarded-For), the client is the N-th address from the right; REMOTE_ADDR is set to it before
anything reads it, so the login lockout (django-axes), the rate limits and the audit trail all
see the client, not the proxy. Addresses further left were written by the client and are never
trusted. With N = 0 (the default: no proxy) X-Forwarded-For is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = settings.TRUSTED_PROXY_COUNT
        if count:
            hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
            hops = [h for h in hops if h]
            if len(hops) >= count:
                candidate = hops[-count]
                try:
                    ipaddress.ip_address(candidate)
                except ValueError:
                    pass
                else:
                    request.META["REMOTE_ADDR"] = candidate
        return self.get_response(request)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer (pages, the API, FHIR, the partner links,
    PDF, CSV and vCard downloads): they hold health information, which no browser cache or
    proxy should keep. Not the static files (WhiteNoise answers them above this middleware,
    and they are checked here too), nor an answer whose view chose its own caching (the
    calendar feed, which names partners only)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.has_header("Cache-Control") or request.path.startswith(settings.STATIC_URL):
            return response
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response
