from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "referwell.outreach"
    label = "outreach"
