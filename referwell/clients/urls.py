from django.urls import path

from referwell.audit import views as audit_views
from referwell.clients import views

urlpatterns = [
    path("", views.client_list, name="client_list"),
    path("new/", views.client_create, name="client_create"),
    path("<int:pk>/", views.client_detail, name="client_detail"),
    path("<int:pk>/edit/", views.client_edit, name="client_edit"),
    path("<int:pk>/disclosures/", audit_views.client_disclosures, name="client_disclosures"),
    path("<int:pk>/visits/", views.visit_add, name="visit_add"),
    path("<int:pk>/consents/", views.consent_add, name="consent_add"),
    path("consents/<int:pk>/", views.consent_detail, name="consent_detail"),
    path("consents/<int:pk>/sign/", views.consent_sign, name="consent_sign"),
    path("consents/<int:pk>/link/", views.consent_send_link, name="consent_send_link"),
    path("consents/<int:pk>/paper/", views.consent_upload, name="consent_upload"),
    path("consents/<int:pk>/form/", views.consent_document, name="consent_document"),
    path("consents/<int:pk>/revoke/", views.consent_revoke, name="consent_revoke"),
]
