from django.urls import path

from referwell.interop.export import views

urlpatterns = [
    path("", views.practice_export, name="practice_export"),
]
