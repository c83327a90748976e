from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referwell.referrals"
    label = "referrals"
