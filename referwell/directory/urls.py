from django.urls import path

from referwell.directory import views

urlpatterns = [
    path("", views.partner_list, name="partner_list"),
    path("new/", views.partner_create, name="partner_create"),
    path("import/", views.partner_import, name="partner_import"),
    path("import/<str:token>/", views.partner_import_preview, name="partner_import_preview"),
    path("import/<str:token>/import/", views.partner_import_confirm, name="partner_import_confirm"),
    path("import/<str:token>/cancel/", views.partner_import_cancel, name="partner_import_cancel"),
    path("<int:pk>/", views.partner_detail, name="partner_detail"),
    path("<int:pk>/edit/", views.partner_edit, name="partner_edit"),
    path("<int:pk>/touchpoints/", views.touchpoint_add, name="touchpoint_add"),
    path("<int:pk>/letter/", views.partner_letter, name="partner_letter"),
    path("<int:pk>/vcard/", views.partner_vcard, name="partner_vcard"),
    path("<int:pk>/merge/", views.partner_merge, name="partner_merge"),
]
