from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "referwell.interop"
    label = "interop"
