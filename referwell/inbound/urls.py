from django.urls import path

from referwell.inbound import views

urlpatterns = [
    path("", views.inbound_list, name="inbound_list"),
    path("<int:pk>/", views.inbound_detail, name="inbound_detail"),
    path("<int:pk>/accept/", views.inbound_accept, name="inbound_accept"),
    path("<int:pk>/reject/", views.inbound_reject, name="inbound_reject"),
]
