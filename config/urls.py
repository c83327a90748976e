from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from referwell.outreach.feed import calendar_feed
from referwell.referrals.public import partner_link
from referwell.site import design
from referwell.site import views as site_views
from referwell.site.api import api

urlpatterns = [
    path("", site_views.dashboard, name="dashboard"),
    path("health/", site_views.health, name="health"),
    path("help/", include("referwell.site.help")),
    path("manifest.webmanifest", design.manifest, name="manifest"),
    path("favicon.ico", design.favicon, name="favicon"),
    path("design/", design.design, name="design"),
    path("accounts/", include("referwell.accounts.urls")),
    path("partners/", include("referwell.directory.urls")),
    path("clients/", include("referwell.clients.urls")),
    path("audit/", include("referwell.audit.urls")),
    path("referrals/", include("referwell.referrals.urls")),
    path("l/<str:token>/", partner_link, name="partner_link"),
    path("consent/", include("referwell.clients.public_urls")),
    path("calendar/<str:token>.ics", calendar_feed, name="calendar_feed"),
    path("outreach/", include("referwell.outreach.urls")),
    path("insights/", include("referwell.insights.urls")),
    path("registry/", include("referwell.registry.urls")),
    path("fhir/R4/", include("referwell.interop.fhir.urls")),
    path("imports/", include("referwell.interop.csv.urls")),
    path("export/", include("referwell.interop.export.urls")),
    path("refer/", include("referwell.inbound.public_urls")),
    path("inbound/", include("referwell.inbound.urls")),
    path("api/v1/", api.urls),
]
if settings.ADMIN_ENABLED:
    # Only for staff who passed two-factor login (django-otp's admin site).
    from django_otp.admin import OTPAdminSite

    admin.site.__class__ = OTPAdminSite
    urlpatterns.append(path("admin/", admin.site.urls))
