from django.urls import path

from referwell.registry import views

urlpatterns = [
    path("", views.registry_search, name="registry_search"),
    path("<str:npi>/add/", views.registry_add, name="registry_add"),
]
