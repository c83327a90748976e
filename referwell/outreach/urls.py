from django.urls import path

from referwell.outreach import pipeline_views, today_views, views

urlpatterns = [
    path("today/", today_views.today_page, name="today"),
    path("today/act/", today_views.today_act, name="today_act"),
    path("calendar/", today_views.calendar_feed_page, name="calendar_feed_page"),
    path("pipeline/", pipeline_views.pipeline_page, name="pipeline"),
    path("pipeline/<int:pk>/move/", pipeline_views.pipeline_move, name="pipeline_move"),
    path("pipeline/<int:pk>/plan/", pipeline_views.plan_add, name="plan_add"),
    path("plans/<int:pk>/done/", pipeline_views.plan_done, name="plan_done"),
    path("niches/", pipeline_views.niches_page, name="niches"),
    path("niches/<int:pk>/delete/", pipeline_views.niche_delete, name="niche_delete"),
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/pdf/", views.outbox_pdf, name="outbox_pdf"),
    path("outbox/<int:pk>/retry/", views.outbox_retry, name="outbox_retry"),
    path("letters/", views.letters, name="letters"),
    path("letters/<slug:kind>/", views.letter_edit, name="letter_edit"),
]
