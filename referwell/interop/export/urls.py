from django.urls import path

from referwell.interop.export import views

urlpatterns = [
    path("", views.practice_export, name="practice_export"),
    path("restore/", views.practice_restore, name="practice_restore"),
    path("restore/<int:pk>/", views.practice_restore_job, name="practice_restore_job"),
]
