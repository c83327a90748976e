from django.apps import AppConfig


class OutreachConfig(AppConfig):
    """(What Today's list is made of is watched by referwell/accounts/kept.py.)"""

    name = "referwell.outreach"
    label = "outreach"
