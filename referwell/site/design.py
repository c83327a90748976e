"""The parts of the app every page shares that are not a page of data: the web app manifest
and the favicon (so a therapist can add Referwell to the home screen), and the design page
that shows each component of the one stylesheet (owners, or anyone in DEBUG)."""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from referwell.accounts.http import PracticeRequest
from referwell.core.decorators import practice_required

THEME_COLOUR = "#23695b"


@require_GET
@cache_control(max_age=86400, public=True)
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: name, icons, colours, and the dashboard as the start page."""
    icons = [
        {"src": static("referwell/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("referwell/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {
            "src": static("referwell/icon-maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
        {"src": static("referwell/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
    ]
    data = {
        "name": "Referwell",
        "short_name": "Referwell",
        "description": "Your referral network, kept: partners, referrals and what to do today.",
        "start_url": reverse("dashboard"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f8f7",
        "theme_color": THEME_COLOUR,
        "icons": icons,
    }
    response = JsonResponse(data)
    response["Content-Type"] = "application/manifest+json"
    return response


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> FileResponse:
    """/favicon.ico, which browsers and bookmarks ask for whatever the page links."""
    path = finders.find("referwell/favicon.ico")
    if not isinstance(path, str):  # pragma: no cover - the file ships with the app
        raise FileNotFoundError("referwell/favicon.ico")
    return FileResponse(open(path, "rb"), content_type="image/x-icon")  # noqa: SIM115


@require_GET
@practice_required
def design(request: PracticeRequest) -> HttpResponse:
    """Every component of the stylesheet on one page, to check a change at phone size."""
    if not (request.member.is_owner or settings.DEBUG):
        raise PermissionDenied("Only an owner sees the design page.")
    return render(request, "site/design.html")
