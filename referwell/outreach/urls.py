from django.urls import path

from referwell.outreach import views

urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/pdf/", views.outbox_pdf, name="outbox_pdf"),
    path("letters/", views.letters, name="letters"),
    path("letters/<slug:kind>/", views.letter_edit, name="letter_edit"),
]
