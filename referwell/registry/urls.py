from django.urls import path

from referwell.registry import views

urlpatterns = [
    path("", views.registry_search, name="registry_search"),
    path("import/", views.registry_import, name="registry_import"),
    path("import/<int:pk>/", views.registry_job, name="registry_job"),
    path("<str:npi>/add/", views.registry_add, name="registry_add"),
]
