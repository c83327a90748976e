from django.urls import path

from referwell.interop.csv import views

urlpatterns = [
    path("", views.csv_import, name="csv_import"),
    path("export/<slug:kind>.csv", views.csv_export, name="csv_export"),
    path("<str:token>/", views.csv_import_map, name="csv_import_map"),
    path("<str:token>/preview/", views.csv_import_preview, name="csv_import_preview"),
    path("<str:token>/confirm/", views.csv_import_confirm, name="csv_import_confirm"),
    path("<str:token>/cancel/", views.csv_import_cancel, name="csv_import_cancel"),
]
