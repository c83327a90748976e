from django.urls import path

from referwell.outreach import today_views, views

urlpatterns = [
    path("today/", today_views.today_page, name="today"),
    path("today/act/", today_views.today_act, name="today_act"),
    path("calendar/", today_views.calendar_feed_page, name="calendar_feed_page"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/pdf/", views.outbox_pdf, name="outbox_pdf"),
    path("letters/", views.letters, name="letters"),
    path("letters/<slug:kind>/", views.letter_edit, name="letter_edit"),
]
