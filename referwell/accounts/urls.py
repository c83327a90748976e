from django.contrib.auth import views as auth_views
from django.urls import path

from referwell.accounts import views

urlpatterns = [
    path("practice/", views.practice_settings, name="practice_settings"),
    path("practice/two-factor/", views.practice_two_factor, name="practice_two_factor"),
    path("practice/members/", views.members, name="members"),
    path("practice/members/<int:pk>/", views.member_edit, name="member_edit"),
    path("invitations/", views.invitations, name="invitations"),
    path("notifications/", views.notifications, name="notifications"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("two-factor/", views.two_factor, name="two_factor"),
    path("two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html"
        ),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
