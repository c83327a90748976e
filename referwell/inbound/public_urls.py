from django.urls import path

from referwell.inbound import public

# "thanks/" comes before the partner's code, which is never six characters long.
urlpatterns = [
    path("<slug:practice_slug>/", public.refer_practice, name="refer_practice"),
    path("<slug:practice_slug>/thanks/", public.refer_thanks, name="refer_thanks"),
    path("<slug:practice_slug>/<str:code>/", public.refer_partner, name="refer_partner"),
]
