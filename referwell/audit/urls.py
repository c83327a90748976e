from django.urls import path

from referwell.audit import views

urlpatterns = [
    path("", views.audit_trail, name="audit_trail"),
]
