from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "referwell.inbound"
    label = "inbound"
    verbose_name = "Referral requests"
