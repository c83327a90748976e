from django.urls import path

from referwell.referrals import views

# Each letter about a referral is read before it leaves: one page (views.referral_letter) for
# the kinds, each at its own address.
urlpatterns = [
    path("", views.referral_list, name="referral_list"),
    path("new/", views.referral_create, name="referral_create"),
    path("<int:pk>/", views.referral_detail, name="referral_detail"),
    path("<int:pk>/transitions/", views.referral_transition, name="referral_transition"),
    path("<int:pk>/notes/", views.referral_note, name="referral_note"),
    path("<int:pk>/undo/", views.referral_undo, name="referral_undo"),
    path("<int:pk>/send/", views.referral_letter, {"kind": "referral"}, name="referral_send"),
    path("<int:pk>/link/", views.referral_link_new, name="referral_link_new"),
    path("<int:pk>/link/revoke/", views.referral_link_revoke, name="referral_link_revoke"),
    path(
        "<int:pk>/report/",
        views.referral_letter,
        {"kind": "progress_report"},
        name="referral_report",
    ),
    path(
        "<int:pk>/thank/", views.referral_letter, {"kind": "thanks_received"}, name="referral_thank"
    ),
    path("<int:pk>/followup/", views.referral_followup_done, name="referral_followup_done"),
    path(
        "<int:pk>/thank-care/",
        views.referral_letter,
        {"kind": "thanks_care"},
        name="referral_thank_care",
    ),
]
