from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "referwell.insights"
    label = "insights"
