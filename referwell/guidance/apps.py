from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    name = "referwell.guidance"
    label = "guidance"
