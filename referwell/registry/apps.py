from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "referwell.registry"
    label = "registry"
