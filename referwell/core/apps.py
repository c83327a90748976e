from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "referwell.core"
    label = "core"
