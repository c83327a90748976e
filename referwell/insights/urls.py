from django.urls import path

from referwell.insights import views

urlpatterns = [
    path("", views.insights_page, name="insights"),
    path("csv/<slug:key>/", views.insights_csv, name="insights_csv"),
    path("costs/", views.cost_add, name="insights_cost_add"),
]
