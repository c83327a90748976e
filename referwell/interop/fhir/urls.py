from django.urls import URLPattern, path, re_path

from referwell.interop.fhir import views

urlpatterns: list[URLPattern] = [
    path("metadata", views.metadata, name="fhir_metadata"),
    re_path(r"^(?P<resource_type>[A-Za-z]+)/?$", views.search, name="fhir_search"),
    re_path(
        r"^(?P<resource_type>[A-Za-z]+)/(?P<resource_id>[^/]+)/?$", views.read, name="fhir_read"
    ),
    # Anything else under /fhir/R4/ is an OperationOutcome too, never an HTML page.
    re_path(r"^(?P<path>.*)$", views.unknown, name="fhir_unknown"),
]
