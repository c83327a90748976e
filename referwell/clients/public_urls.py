"""The client's own pages, reached by the link e-mailed to them (no account): to sign a consent
and later to withdraw it. Included under "consent/" (clients.services.CLIENT_LINK_PATH):

    path("consent/", include("referwell.clients.public_urls")),
"""

from django.urls import path

from referwell.clients import public

urlpatterns = [
    path("<str:token>/", public.client_consent, name="client_consent"),
    path("<str:token>/copy/", public.client_consent_copy, name="client_consent_copy"),
]
